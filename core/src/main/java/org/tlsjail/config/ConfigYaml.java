package org.tlsjail.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tlsjail.banengine.Addresses;
import org.tlsjail.banengine.BanTimeIncrement;
import org.tlsjail.banengine.FailDuration;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.bridge.BridgeConfig;
import org.tlsjail.bridge.QueueSettings;
import org.tlsjail.bridge.fail2ban.Fail2BanBridgeConfig;
import org.tlsjail.bridge.haproxy.HaproxyBridgeConfig;
import org.tlsjail.bridge.nftables.NftablesBridgeConfig;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

/** Prints a configuration back as YAML with every default filled in ({@code tlsjail config show}). */
public final class ConfigYaml {
    private ConfigYaml() {
    }

    public static String render(TlsjailConfig c) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("state-dir", str(c.stateDir()));
        Map<String, Object> listen = new LinkedHashMap<>();
        listen.put("address", Addresses.format(c.listen().address()));
        listen.put("port", c.listen().port());
        listen.put("backlog", c.listen().backlog());
        listen.put("max-handshakes-per-source", c.listen().maxHandshakesPerSource());
        listen.put("max-handshakes-total", c.listen().maxHandshakesTotal());
        listen.put("handshake-threads", c.listen().handshakeThreads());
        Map<String, Object> weights = new LinkedHashMap<>();
        for (org.tlsjail.listener.FailureKind k : org.tlsjail.listener.FailureKind.values()) {
            weights.put(k.configName(), c.listen().weights().getOrDefault(k.configName(), 1));
        }
        listen.put("weights", weights);
        List<String> partners = new ArrayList<>();
        c.listen().partners().forEach(k -> partners.add(k.toString()));
        listen.put("partners", partners);
        listen.put("partner-window", FailDuration.format(c.listen().partnerWindow()));
        listen.put("partner-reserve", c.listen().partnerReserve());
        listen.put("max-unproven-handshakes", c.listen().maxUnprovenHandshakes());
        org.tlsjail.listener.ProxyProtocolSettings proxy = c.listen().proxyProtocol();
        listen.put("proxy-protocol", proxy.version().yamlName());
        if (proxy.enabled()) {
            listen.put("trusted-proxies", new ArrayList<>(proxy.trustedProxies().stream().map(Object::toString).toList()));
            listen.put("proxy-header-timeout", FailDuration.format(proxy.headerTimeout()));
        }
        root.put("listen", listen);

        TlsSection t = c.tls();
        Map<String, Object> tls = new LinkedHashMap<>();
        tls.put("protocols", new ArrayList<>(t.protocols()));
        tls.put("cipher-suites", new ArrayList<>(t.cipherSuites()));
        if (t.usesDemoPki()) {
            tls.put("key", null);
            tls.put("cert", null);
        } else if (t.keystore() != null) {
            tls.put("keystore", str(t.keystore()));
            tls.put("keystore-password", t.keystorePassword() == null ? "" : "********");
        } else {
            tls.put("key", str(t.key()));
            tls.put("cert", str(t.cert()));
        }
        tls.put("client-ca", str(t.clientCa()));
        if (t.clientCaPassword() != null) {
            tls.put("client-ca-password", "********");
        }
        tls.put("client-auth", t.clientAuth().name().toLowerCase(java.util.Locale.ROOT));
        tls.put("handshake-timeout", FailDuration.format(t.handshakeTimeout()));
        tls.put("signature-schemes", new ArrayList<>(t.signatureSchemes()));
        tls.put("min-rsa-bits", t.certificatePolicy().minRsaBits());
        tls.put("min-ec-bits", t.certificatePolicy().minEcBits());
        tls.put("sha1-signatures", t.certificatePolicy().acceptSha1() ? "accept" : "reject");
        if (t.revocation() != null) {
            List<String> crl = new ArrayList<>();
            t.revocation().sources().forEach(p -> crl.add(str(p)));
            tls.put("crl", crl);
            tls.put("crl-expired", t.revocation().onExpired().name().toLowerCase(java.util.Locale.ROOT));
            tls.put("crl-missing", t.revocation().onMissing().name().toLowerCase(java.util.Locale.ROOT));
            tls.put("crl-check-interval", FailDuration.format(t.revocation().checkInterval()));
        }
        root.put("tls", tls);

        JailConfig j = c.jail();
        Map<String, Object> jail = new LinkedHashMap<>();
        jail.put("maxretry", j.maxRetry());
        jail.put("findtime", FailDuration.format(j.findTime()));
        jail.put("bantime", FailDuration.format(j.banTime()));
        jail.put("ignoreip", new ArrayList<>(j.ignoreIp()));
        BanTimeIncrement i = j.increment();
        Map<String, Object> inc = new LinkedHashMap<>();
        inc.put("enabled", i.enabled());
        inc.put("factor", i.factor());
        inc.put("maxtime", FailDuration.format(i.maxTime()));
        inc.put("multipliers", new ArrayList<>(i.multipliers()));
        inc.put("remember", FailDuration.format(i.remember()));
        jail.put("bantime-increment", inc);
        jail.put("ipv4-prefix", j.ipv4Prefix());
        jail.put("ipv6-prefix", j.ipv6Prefix());
        jail.put("max-tracked", j.maxTrackedKeys());
        jail.put("max-bans", j.maxBans());
        root.put("jail", jail);

        Map<String, Object> log = new LinkedHashMap<>();
        log.put("path", str(c.fail2banLog().path()));
        log.put("timestamp", c.fail2banLog().trailingTimestamp() ? "trailing" : "none");
        log.put("mode", c.fail2banLog().modeOctal());
        root.put("fail2ban-log", log);

        root.put("control", new LinkedHashMap<>(Map.of("socket", str(c.controlSocket()))));
        if (c.forward() != null) {
            ForwardSection f = c.forward();
            Map<String, Object> fw = new LinkedHashMap<>();
            fw.put("to", f.target());
            fw.put("connect-timeout", FailDuration.format(f.connectTimeout()));
            fw.put("idle-timeout", FailDuration.format(f.idleTimeout()));
            fw.put("proxy-protocol", f.proxyProtocol().yamlName());
            fw.put("max-relays", f.maxRelays());
            fw.put("max-relays-per-source", f.maxRelaysPerSource());
            root.put("forward", fw);
        }
        if (c.metrics() != null) {
            root.put("metrics", new LinkedHashMap<>(Map.of("listen", c.metrics().listen())));
        }
        if (!c.bridge().isEmpty()) {
            root.put("bridge", bridge(c.bridge()));
        }
        DumperOptions o = new DumperOptions();
        o.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        o.setIndent(2);
        return "# effective configuration of " + c.sourceName() + "\n" + new Yaml(o).dump(root);
    }

    /** The enabled bridges with every default filled in; one that is not enabled is not shown. */
    private static Map<String, Object> bridge(BridgeConfig b) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (b.fail2ban() != null) {
            Fail2BanBridgeConfig f = b.fail2ban();
            Map<String, Object> m = enabled();
            m.put("socket", str(f.socket()));
            m.put("jail", f.jail());
            m.put("mode", f.mode().yamlName());
            out.put("fail2ban", queue(m, f.queue(), true));
        }
        if (b.nftables() != null) {
            NftablesBridgeConfig n = b.nftables();
            Map<String, Object> m = enabled();
            m.put("nft", str(n.nft()));
            m.put("table", n.table());
            m.put("port", n.port());
            m.put("action", n.action().name().toLowerCase(java.util.Locale.ROOT));
            m.put("keep-on-stop", n.keepOnStop());
            out.put("nftables", queue(m, n.queue(), false));
        }
        if (b.haproxy() != null) {
            HaproxyBridgeConfig h = b.haproxy();
            Map<String, Object> m = enabled();
            if (h.socket() != null) {
                m.put("socket", str(h.socket()));
            } else {
                String ip = Addresses.format(h.address().getAddress());
                m.put("address", (ip.contains(":") ? "[" + ip + "]" : ip) + ":" + h.address().getPort());
            }
            m.put("acl", h.acl());
            out.put("haproxy", queue(m, h.queue(), true));
        }
        return out;
    }

    private static Map<String, Object> enabled() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("enabled", true);
        return m;
    }

    private static Map<String, Object> queue(Map<String, Object> m, QueueSettings q, boolean retries) {
        m.put("timeout", FailDuration.format(q.timeout()));
        if (retries) {
            m.put("retry-min", FailDuration.format(q.retryMin()));
            m.put("retry-max", FailDuration.format(q.retryMax()));
        }
        m.put("max-pending", q.maxPending());
        m.put("reconcile-interval", FailDuration.format(q.reconcileInterval()));
        return m;
    }

    private static String str(Path p) {
        return p == null ? null : p.toString();
    }

}
