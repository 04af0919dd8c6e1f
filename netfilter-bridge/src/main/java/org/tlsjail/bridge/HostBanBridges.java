package org.tlsjail.bridge;

import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.FailDuration;
import org.tlsjail.bridge.fail2ban.Fail2BanBridge;
import org.tlsjail.bridge.fail2ban.Fail2BanBridgeConfig;
import org.tlsjail.bridge.fail2ban.Fail2BanMode;
import org.tlsjail.bridge.haproxy.HaproxyBridge;
import org.tlsjail.bridge.haproxy.HaproxyBridgeConfig;
import org.tlsjail.bridge.nftables.NftAction;
import org.tlsjail.bridge.nftables.NftablesBridge;
import org.tlsjail.bridge.nftables.NftablesBridgeConfig;

/**
 * Builds the bridges the YAML's {@code bridge:} section enables, so the daemon needs a few lines:
 * create, {@link HostBanBridge#startOn(BanEngine)} each, report {@code status()}, close at stop.
 * Every value error names its YAML option ({@code bridge.nftables.port}, ...); unknown keys are
 * errors too, so a typo cannot silently leave a bridge with its defaults.
 */
public final class HostBanBridges {
    private static final Set<String> FAIL2BAN_KEYS = Set.of("enabled", "socket", "jail", "mode", "timeout",
            "retry-min", "retry-max", "max-pending", "reconcile-interval");
    private static final Set<String> NFTABLES_KEYS = Set.of("enabled", "nft", "table", "port", "action",
            "keep-on-stop", "timeout", "max-pending", "reconcile-interval");
    private static final Set<String> HAPROXY_KEYS = Set.of("enabled", "socket", "address", "acl", "timeout",
            "retry-min", "retry-max", "max-pending", "reconcile-interval");

    private HostBanBridges() {
    }

    /**
     * The bridges enabled in {@code bridgeSection} (the parsed YAML mapping under {@code bridge},
     * or null if absent), created but not started.
     *
     * @param listenerPort the port {@code bridge.nftables.port} defaults to
     * @throws IllegalArgumentException naming the YAML option, for any invalid value or unknown key
     */
    public static List<HostBanBridge> fromYaml(Object bridgeSection, BanEngine engine, InstantSource clock,
                                               int listenerPort) {
        List<HostBanBridge> out = new ArrayList<>();
        if (bridgeSection == null) {
            return out;
        }
        Map<?, ?> bridge = map(bridgeSection, "bridge");
        for (Object k : bridge.keySet()) {
            if (!"fail2ban".equals(k) && !"nftables".equals(k) && !"haproxy".equals(k)) {
                throw new IllegalArgumentException("bridge." + k + ": unknown option (expected fail2ban, nftables or haproxy)");
            }
        }
        // A disabled section is validated all the same: a mistake must show when it is made,
        // not months later when someone sets enabled: true.
        if (bridge.get("fail2ban") != null) {
            Map<?, ?> f = section(bridge.get("fail2ban"), "bridge.fail2ban", FAIL2BAN_KEYS);
            boolean enabled = bool(f, "enabled", "bridge.fail2ban", false);
            Fail2BanBridgeConfig c = fail2ban(f);
            if (enabled) {
                out.add(new Fail2BanBridge(c, engine::banned, engine::unban, clock));
            }
        }
        if (bridge.get("nftables") != null) {
            Map<?, ?> n = section(bridge.get("nftables"), "bridge.nftables", NFTABLES_KEYS);
            boolean enabled = bool(n, "enabled", "bridge.nftables", false);
            NftablesBridgeConfig c = nftables(n, listenerPort);
            if (enabled) {
                out.add(new NftablesBridge(c, engine::banned, clock));
            }
        }
        if (bridge.get("haproxy") != null) {
            Map<?, ?> h = section(bridge.get("haproxy"), "bridge.haproxy", HAPROXY_KEYS);
            boolean enabled = bool(h, "enabled", "bridge.haproxy", false);
            HaproxyBridgeConfig c = haproxy(h);
            if (enabled) {
                out.add(new HaproxyBridge(c, engine::banned, clock));
            }
        }
        return out;
    }

    static HaproxyBridgeConfig haproxy(Map<?, ?> h) {
        String p = "bridge.haproxy";
        HaproxyBridgeConfig c = HaproxyBridgeConfig.defaults();
        if (h.get("acl") != null) {
            c = c.withAcl(string(h, "acl", p));
        }
        if (h.get("socket") != null && h.get("address") != null) {
            throw new IllegalArgumentException("bridge.haproxy.address: set either bridge.haproxy.socket (unix) or"
                    + " bridge.haproxy.address (TCP, loopback), not both");
        }
        if (h.get("socket") != null) {
            c = c.withSocket(Path.of(string(h, "socket", p)));
        }
        if (h.get("address") != null) {
            String a = string(h, "address", p);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\[?([0-9A-Fa-f:.]+)\\]?:([0-9]{1,5})").matcher(a);
            if (!m.matches() || Integer.parseInt(m.group(2)) < 1 || Integer.parseInt(m.group(2)) > 65535) {
                throw new IllegalArgumentException("bridge.haproxy.address: expected a loopback IP:PORT such as"
                        + " 127.0.0.1:9999, got '" + a + "'");
            }
            java.net.InetAddress ip;
            try {
                ip = org.tlsjail.banengine.Addresses.parseLiteral(m.group(1));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("bridge.haproxy.address: '" + a + "' is not IP:PORT (host names"
                        + " are not resolved)", e);
            }
            c = c.withAddress(new java.net.InetSocketAddress(ip, Integer.parseInt(m.group(2))));
        }
        if (h.get("timeout") != null) {
            c = c.withTimeout(duration(h, "timeout", p));
        }
        if (h.get("retry-min") != null || h.get("retry-max") != null) {
            c = c.withRetry(h.get("retry-min") == null ? c.retryMin() : duration(h, "retry-min", p),
                    h.get("retry-max") == null ? c.retryMax() : duration(h, "retry-max", p));
        }
        if (h.get("max-pending") != null) {
            c = c.withMaxPending(integer(h, "max-pending", p));
        }
        if (h.get("reconcile-interval") != null) {
            c = c.withReconcileInterval(duration(h, "reconcile-interval", p));
        }
        return c;
    }

    static Fail2BanBridgeConfig fail2ban(Map<?, ?> f) {
        Fail2BanBridgeConfig c = Fail2BanBridgeConfig.defaults();
        String p = "bridge.fail2ban";
        if (f.get("socket") != null) {
            c = c.withSocket(Path.of(string(f, "socket", p)));
        }
        if (f.get("jail") != null) {
            c = c.withJail(string(f, "jail", p));
        }
        if (f.get("mode") != null) {
            c = c.withMode(Fail2BanMode.parse(string(f, "mode", p)));
        }
        if (f.get("timeout") != null) {
            c = c.withTimeout(duration(f, "timeout", p));
        }
        if (f.get("retry-min") != null || f.get("retry-max") != null) {
            c = c.withRetry(f.get("retry-min") == null ? c.retryMin() : duration(f, "retry-min", p),
                    f.get("retry-max") == null ? c.retryMax() : duration(f, "retry-max", p));
        }
        if (f.get("max-pending") != null) {
            c = c.withMaxPending(integer(f, "max-pending", p));
        }
        if (f.get("reconcile-interval") != null) {
            c = c.withReconcileInterval(duration(f, "reconcile-interval", p));
        }
        return c;
    }

    static NftablesBridgeConfig nftables(Map<?, ?> n, int listenerPort) {
        String p = "bridge.nftables";
        NftablesBridgeConfig c = NftablesBridgeConfig.defaults();
        c = c.withPort(n.get("port") != null ? integer(n, "port", p) : listenerPort);
        if (n.get("nft") != null) {
            c = c.withNft(Path.of(string(n, "nft", p)));
        }
        if (n.get("table") != null) {
            c = c.withTable(string(n, "table", p));
        }
        if (n.get("action") != null) {
            c = c.withAction(NftAction.parse(string(n, "action", p)));
        }
        if (n.get("keep-on-stop") != null) {
            c = c.withKeepOnStop(bool(n, "keep-on-stop", p, false));
        }
        if (n.get("timeout") != null) {
            c = c.withTimeout(duration(n, "timeout", p));
        }
        if (n.get("max-pending") != null) {
            c = c.withMaxPending(integer(n, "max-pending", p));
        }
        if (n.get("reconcile-interval") != null) {
            c = c.withReconcileInterval(duration(n, "reconcile-interval", p));
        }
        return c;
    }

    private static Map<?, ?> map(Object o, String option) {
        if (!(o instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException(option + ": expected a mapping, got " + describe(o));
        }
        return m;
    }

    private static Map<?, ?> section(Object o, String option, Set<String> known) {
        Map<?, ?> m = map(o, option);
        for (Object k : m.keySet()) {
            if (!known.contains(String.valueOf(k))) {
                throw new IllegalArgumentException(option + "." + k + ": unknown option (known: "
                        + String.join(", ", new TreeSet<>(known)) + ")");
            }
        }
        return m;
    }

    private static String string(Map<?, ?> m, String key, String prefix) {
        Object v = m.get(key);
        if (v instanceof String s || v instanceof Number || v instanceof Boolean) {
            return String.valueOf(v);
        }
        throw new IllegalArgumentException(prefix + "." + key + ": expected a text value, got " + describe(v));
    }

    private static int integer(Map<?, ?> m, String key, String prefix) {
        Object v = m.get(key);
        if (v instanceof Integer i) {
            return i;
        }
        if (v instanceof String s && s.strip().matches("[0-9]{1,9}")) {
            return Integer.parseInt(s.strip());
        }
        throw new IllegalArgumentException(prefix + "." + key + ": expected a whole number, got " + describe(v));
    }

    private static boolean bool(Map<?, ?> m, String key, String prefix, boolean dflt) {
        Object v = m.get(key);
        if (v == null) {
            return dflt;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        String s = String.valueOf(v).strip().toLowerCase(Locale.ROOT);
        if (s.equals("true") || s.equals("yes") || s.equals("on")) {
            return true;
        }
        if (s.equals("false") || s.equals("no") || s.equals("off")) {
            return false;
        }
        throw new IllegalArgumentException(prefix + "." + key + ": expected true or false, got " + describe(v));
    }

    private static Duration duration(Map<?, ?> m, String key, String prefix) {
        Duration d = FailDuration.parse(string(m, key, prefix), prefix + "." + key);
        if (d.equals(FailDuration.PERMANENT)) {
            throw new IllegalArgumentException(prefix + "." + key + ": -1 (permanent) is not a valid value here");
        }
        return d;
    }

    private static String describe(Object o) {
        return o == null ? "nothing" : "'" + o + "'";
    }
}
