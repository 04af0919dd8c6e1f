package org.tlsjail.config;

import org.tlsjail.tls.ClientAuth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.FailDuration;

class ConfigLoaderTest {
    @TempDir
    Path dir;

    private TlsjailConfig load(String yaml) throws Exception {
        return TestConfigFiles.load(dir, yaml);
    }

    private ConfigException error(String yaml) {
        return TestConfigFiles.refusal(dir, yaml);
    }

    @Test
    void embeddedDefaultIsLoopbackWithDemoPkiAndOs4xThresholds() throws Exception {
        TlsjailConfig c = new ConfigLoader(dir).load(null, null);
        assertThat(c.listen().address().getHostAddress()).isEqualTo("127.0.0.1");
        assertThat(c.listen().port()).isEqualTo(6619);
        assertThat(c.stateDir()).isEqualTo(dir.resolve("tlsjail-state"));
        assertThat(c.fail2banLog().path()).isEqualTo(dir.resolve("tlsjail-state/fail2ban.log"));
        assertThat(c.controlSocket()).isEqualTo(dir.resolve("tlsjail-state/control.sock"));
        assertThat(c.tls().usesDemoPki()).isTrue();
        assertThat(c.tls().clientAuth()).isEqualTo(ClientAuth.REQUIRED);
        assertThat(c.jail().maxRetry()).isEqualTo(3);
        assertThat(c.jail().findTime()).isEqualTo(Duration.ofMinutes(10));
        assertThat(c.jail().banTime()).isEqualTo(Duration.ofHours(1));
        assertThat(c.forward()).isNull();
        assertThat(c.metrics()).isNull();
    }

    @Test
    void fullFileMapsEveryKey() throws Exception {
        TlsjailConfig c = load("""
                state-dir: /var/lib/tlsjail
                listen: {address: 0.0.0.0, port: 6620}
                tls:
                  protocols: [TLSv1.3]
                  key: keys/server.key
                  cert: keys/server.pem
                  client-ca: partners.pem
                  client-auth: optional
                  handshake-timeout: 5s
                jail:
                  maxretry: 5
                  findtime: 1h
                  bantime: -1
                  ignoreip: 10.0.0.0/8 192.168.1.1
                  bantime-increment: {enabled: true, factor: 2, maxtime: 1w, multipliers: "1 2 4", remember: 30d}
                  ipv6-prefix: 56
                fail2ban-log: {path: /opt/os4x/tmp/fail2ban.log, timestamp: none, mode: "0600"}
                control: {socket: /run/tlsjail/control.sock}
                forward: {to: "backend.example:3305", idle-timeout: 2m, proxy-protocol: v2}
                metrics: {listen: "127.0.0.1:9619"}
                """);
        assertThat(c.stateDir()).isEqualTo(Path.of("/var/lib/tlsjail"));
        assertThat(c.listen().port()).isEqualTo(6620);
        assertThat(c.tls().key()).isEqualTo(dir.resolve("keys/server.key"));
        assertThat(c.tls().protocols()).containsExactly("TLSv1.3");
        assertThat(c.tls().clientAuth()).isEqualTo(ClientAuth.OPTIONAL);
        assertThat(c.tls().handshakeTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.jail().maxRetry()).isEqualTo(5);
        assertThat(c.jail().banTime()).isEqualTo(FailDuration.PERMANENT);
        assertThat(c.jail().ignoreIp()).containsExactly("10.0.0.0/8", "192.168.1.1");
        assertThat(c.jail().increment().enabled()).isTrue();
        assertThat(c.jail().increment().multipliers()).containsExactly(1.0, 2.0, 4.0);
        assertThat(c.jail().increment().remember()).isEqualTo(Duration.ofDays(30));
        assertThat(c.jail().ipv6Prefix()).isEqualTo(56);
        assertThat(c.fail2banLog().trailingTimestamp()).isFalse();
        assertThat(c.fail2banLog().mode()).isEqualTo(0600);
        assertThat(c.controlSocket()).isEqualTo(Path.of("/run/tlsjail/control.sock"));
        assertThat(c.forward().host()).isEqualTo("backend.example");
        assertThat(c.forward().port()).isEqualTo(3305);
        assertThat(c.forward().proxyProtocol()).isEqualTo(ForwardSection.ProxyProtocol.V2);
        assertThat(c.metrics().listen()).isEqualTo("127.0.0.1:9619");
        // show renders it back and the rendering loads again to the same values
        String shown = ConfigYaml.render(c);
        assertThat(shown).contains("maxretry: 5").contains("bantime: '-1'").contains("proxy-protocol: v2");
    }

    @Test
    void unknownKeyNamesKeyFileLineAndColumn() {
        ConfigException e = error("""
                jail:
                  maxretry: 3
                  bantme: 1h
                """);
        assertThat(e.getMessage()).isEqualTo(dir.resolve("tlsjail.yaml") + ":3:3: jail.bantme: unknown key");
    }

    @Test
    void badDurationPointsAtTheValue() {
        ConfigException e = error("jail:\n  findtime: 10 minutes please\n");
        assertThat(e.line()).isEqualTo(2);
        assertThat(e.column()).isEqualTo(13);
        assertThat(e.key()).isEqualTo("jail.findtime");
        assertThat(e.getMessage()).contains("is not a duration");
    }

    @Test
    void wrongTypeIsAnError() {
        ConfigException e = error("listen:\n  port: [1, 2]\n");
        assertThat(e.getMessage()).contains(":2:9: listen.port: expected a whole number");
        assertThat(error("listen:\n  port: 70000\n").getMessage()).contains("between 0 and 65535");
        assertThat(error("jail: 3\n").getMessage()).contains(":1:7: jail: expected a mapping");
        assertThat(error("listen:\n  address: localhost\n").getMessage()).contains("not an IP address");
    }

    @Test
    void engineValidationIsMappedToTheKey() {
        ConfigException e = error("jail:\n  findtime: 1h\n  bantime: 0\n");
        assertThat(e.key()).isEqualTo("jail.bantime");
        assertThat(e.line()).isEqualTo(3);
        ConfigException ip = error("jail:\n  ignoreip: [10.0.0.0/99]\n");
        assertThat(ip.key()).isEqualTo("jail.ignoreip");
        assertThat(ip.line()).isEqualTo(2);
    }

    @Test
    void malformedYamlHasAPosition() {
        ConfigException e = error("jail:\n  maxretry: [3\n");
        assertThat(e.line()).isGreaterThan(0);
        assertThat(e.getMessage()).contains("malformed YAML");
    }

    @Test
    void tagsAliasBombsAndDuplicatesAreRefused() {
        assertThat(error("jail: !!java.util.HashMap {}\n").getMessage()).containsIgnoringCase("tag");
        assertThat(error("listen: !!python/object:os.system {}\n").getMessage()).containsIgnoringCase("tag");
        assertThat(error("jail:\n  maxretry: 3\n  maxretry: 4\n").getMessage()).contains(":3:3: jail.maxretry: duplicate key");
        StringBuilder bomb = new StringBuilder("a: &a [x,x,x,x,x,x,x,x,x]\n");
        for (char c = 'b'; c <= 'z'; c++) {
            char p = (char) (c - 1);
            bomb.append(c).append(": &").append(c).append(" [*").append(p).append(",*").append(p).append(",*")
                    .append(p).append(",*").append(p).append("]\n");
        }
        assertThat(error(bomb.toString()).getMessage()).contains("malformed YAML");
    }

    @Test
    void tlsKeyWithoutClientCaIsAnError() {
        assertThat(error("tls:\n  key: a.key\n  cert: a.pem\n").getMessage()).contains("tls.client-ca: required");
        assertThat(error("tls:\n  key: a.key\n").getMessage()).contains("tls.cert: tls.key and tls.cert go together");
        assertThat(error("tls:\n  protocols: [SSLv3]\n").getMessage()).contains("not supported");
    }

    @Test
    void emptyFileIsTheDefaultAndStateDirOverrideWins() throws Exception {
        Path f = dir.resolve("empty.yaml");
        Files.writeString(f, "# nothing\n");
        TlsjailConfig c = new ConfigLoader(dir).load(f, Path.of("other"));
        assertThat(c.stateDir()).isEqualTo(dir.resolve("other"));
        assertThat(c.controlSocket()).isEqualTo(dir.resolve("other/control.sock"));
    }

    @Test
    void forwardNeedsATarget() {
        assertThat(error("forward:\n  proxy-protocol: v1\n").getMessage()).contains("forward.to: required");
        assertThat(error("forward:\n  to: nowhere\n").getMessage()).contains("not HOST:PORT");
        assertThat(error("forward:\n  to: \"h:1\"\n  proxy-protocol: v3\n").getMessage()).contains("must be one of: none, v1, v2");
    }

    @Test
    void showOutputLoadsBackToTheSameConfiguration() throws Exception {
        TlsjailConfig c = load("jail: {maxretry: 7, ignoreip: [127.0.0.2]}\nforward: {to: \"127.0.0.1:9\"}\n");
        Path shown = dir.resolve("shown.yaml");
        Files.writeString(shown, ConfigYaml.render(c));
        TlsjailConfig again = new ConfigLoader(dir).load(shown, null);
        assertThat(again.jail()).isEqualTo(c.jail());
        assertThat(again.forward()).isEqualTo(c.forward());
        assertThat(again.fail2banLog()).isEqualTo(c.fail2banLog());
        assertThat(again.stateDir()).isEqualTo(c.stateDir());
    }

    @Test
    void shippedProductionTemplateIsValid() throws Exception {
        Path template = Path.of("..", "conf", "tlsjail.yaml").toAbsolutePath().normalize();
        TlsjailConfig c = new ConfigLoader(dir).load(template, null);
        assertThat(c.listen().address().getHostAddress()).isEqualTo("0.0.0.0");
        assertThat(c.listen().port()).isEqualTo(6619);
        assertThat(c.jail().maxRetry()).isEqualTo(3);
        assertThat(c.jail().findTime()).isEqualTo(Duration.ofSeconds(600));
        assertThat(c.jail().banTime()).isEqualTo(Duration.ofSeconds(3600));
        assertThat(c.fail2banLog().path()).isEqualTo(Path.of("/var/log/tlsjail/fail2ban.log"));
        assertThat(c.tls().usesDemoPki()).isFalse();
        // the shipped jail, logrotate and unit name the same file and directory, none of them OS4X's shared one
        Path conf = template.getParent();
        assertThat(Files.readString(conf.resolve("fail2ban/jail.d/os4x.conf")))
                .containsPattern("(?m)^logpath\\s*=\\s*/var/log/tlsjail/fail2ban.log$");
        assertThat(Files.readString(conf.resolve("logrotate.d/tlsjail"))).contains("/var/log/tlsjail/fail2ban.log {");
        String unit = Files.readString(conf.resolve("systemd/tlsjail.service"));
        assertThat(unit).contains("LogsDirectory=tlsjail").contains("ReadWritePaths=/var/lib/tlsjail /var/log/tlsjail")
                .doesNotContain("/opt/os4x/tmp");
    }

    @Test
    void bridgeSectionIsReadByTheLoaderWithPositions() throws Exception {
        ConfigException e = error("bridge:\n  fail2ban:\n    enabled: true\n    jial: os4x\n");
        assertThat(e.key()).startsWith("bridge.fail2ban");
        assertThat(e.line()).isEqualTo(4);
        ConfigException port = error("bridge:\n  nftables:\n    enabled: true\n    port: many\n");
        assertThat(port.key()).isEqualTo("bridge.nftables.port");
        assertThat(port.line()).isEqualTo(4);
        assertThat(port.column()).isEqualTo(11);
        assertThat(error("bridge:\n  nftables: !!java.io.File {}\n").getMessage()).containsIgnoringCase("tag");
        TlsjailConfig c = load("bridge:\n  fail2ban: {enabled: true, jail: os4x, timeout: 5}\n");
        assertThat(c.bridge().fail2ban().jail()).isEqualTo("os4x");
        assertThat(ConfigYaml.render(c)).contains("jail: os4x");
    }

    @Test
    void listenWeightsAndHandshakeLimits() throws Exception {
        TlsjailConfig c = load("listen:\n  max-handshakes-per-source: 4\n  weights: {unexpected-eof: 0, no-certificate: 2}\n");
        assertThat(c.listen().maxHandshakesPerSource()).isEqualTo(4);
        assertThat(c.listen().weights()).containsEntry("unexpected-eof", 0).containsEntry("no-certificate", 2);
        ConfigException e = error("listen:\n  weights:\n    unexpected-eff: 0\n");
        assertThat(e.getMessage()).contains(":3:5: listen.weights.unexpected-eff: unknown key");
    }

    @Test
    void partnersAndRelayLimits() throws Exception {
        TlsjailConfig c = load("listen: {partners: [192.0.2.0/24, \"2001:db8:1::/48\", 198.51.100.7], partner-window: 2h,"
                + " partner-reserve: 100}\nforward: {to: \"127.0.0.1:9\", max-relays: 50, max-relays-per-source: 5}\n");
        assertThat(c.listen().partners()).extracting(Object::toString)
                .containsExactly("192.0.2.0/24", "2001:db8:1::/48", "198.51.100.7");
        assertThat(c.listen().partnerWindow()).isEqualTo(java.time.Duration.ofHours(2));
        assertThat(c.listen().partnerReserve()).isEqualTo(100);
        assertThat(c.forward().maxRelays()).isEqualTo(50);
        assertThat(c.forward().maxRelaysPerSource()).isEqualTo(5);
        Path shown = dir.resolve("shown.yaml");
        Files.writeString(shown, ConfigYaml.render(c));
        TlsjailConfig again = new ConfigLoader(dir).load(shown, null);
        assertThat(again.listen().partners()).isEqualTo(c.listen().partners());
        assertThat(again.listen().partnerWindow()).isEqualTo(c.listen().partnerWindow());
        assertThat(again.listen().partnerReserve()).isEqualTo(c.listen().partnerReserve());
        assertThat(again.forward()).isEqualTo(c.forward());

        TlsjailConfig d = load("forward: {to: \"127.0.0.1:9\"}\n");
        assertThat(d.listen().partnerReserve()).isEqualTo(256);
        assertThat(d.forward().maxRelays()).isEqualTo(ForwardSection.defaultMaxRelays());
        assertThat(d.forward().maxRelaysPerSource()).isEqualTo(64);

        assertThat(error("listen: {partners: [not-an-address]}\n").getMessage()).contains("listen.partners")
                .contains("not an address or CIDR");
        assertThat(error("listen: {max-handshakes-total: 100, partner-reserve: 100}\n").getMessage())
                .contains("listen.partner-reserve").contains("below listen.max-handshakes-total");
        assertThat(error("forward: {to: \"h:1\", max-relays: 4, max-relays-per-source: 5}\n").getMessage())
                .contains("forward.max-relays-per-source").contains("at most forward.max-relays");
    }

    @Test
    void tlsPolicyDefaultsAreMozillaIntermediateAndWideningIsExplicit() throws Exception {
        TlsjailConfig c = load("listen: {port: 0}\n");
        assertThat(c.tls().cipherSuites()).isEqualTo(org.tlsjail.tls.TlsPolicy.DEFAULT_CIPHER_SUITES)
                .noneMatch(x -> x.contains("CBC") || x.contains("_DHE_") || x.startsWith("TLS_RSA_"));
        assertThat(c.tls().signatureSchemes()).isEqualTo(org.tlsjail.tls.TlsPolicy.DEFAULT_SIGNATURE_SCHEMES)
                .noneMatch(x -> x.contains("sha1") || x.contains("sha224"));
        assertThat(c.tls().certificatePolicy()).isEqualTo(org.tlsjail.tls.CertificatePolicy.DEFAULT);
        assertThat(c.tls().revocation()).isNull();

        TlsjailConfig wide = load("""
                tls:
                  cipher-suites: [TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]
                  signature-schemes: [rsa_pss_rsae_sha256, rsa_pkcs1_sha1]
                  min-rsa-bits: 1024
                  min-ec-bits: 224
                  sha1-signatures: accept
                  crl: [crl.d, root.crl]
                  crl-expired: accept
                  crl-missing: accept
                  crl-check-interval: 1m
                """);
        assertThat(wide.tls().cipherSuites()).containsExactly("TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA");
        assertThat(wide.tls().signatureSchemes()).containsExactly("rsa_pss_rsae_sha256", "rsa_pkcs1_sha1");
        assertThat(wide.tls().certificatePolicy()).isEqualTo(new org.tlsjail.tls.CertificatePolicy(1024, 224, true));
        org.tlsjail.tls.RevocationSettings r = wide.tls().revocation();
        assertThat(r.sources()).containsExactly(dir.resolve("crl.d"), dir.resolve("root.crl"));
        assertThat(r.onExpired()).isEqualTo(org.tlsjail.tls.RevocationSettings.Fallback.ACCEPT);
        assertThat(r.onMissing()).isEqualTo(org.tlsjail.tls.RevocationSettings.Fallback.ACCEPT);
        assertThat(r.checkInterval()).isEqualTo(Duration.ofMinutes(1));

        Path shown = dir.resolve("shown.yaml");
        Files.writeString(shown, ConfigYaml.render(wide));
        assertThat(new ConfigLoader(dir).load(shown, null).tls()).isEqualTo(wide.tls());
        Files.writeString(shown, ConfigYaml.render(c));
        assertThat(new ConfigLoader(dir).load(shown, null).tls()).isEqualTo(c.tls());
    }

    @Test
    void tlsPolicyMistakesNameTheKeyAndPosition() {
        assertThat(error("tls:\n  signature-schemes: [rsa_pkcs1_md5]\n").getMessage())
                .contains(":2:22: tls.signature-schemes: 'rsa_pkcs1_md5' is not a signature scheme");
        assertThat(error("tls:\n  crl-expired: accept\n").getMessage()).contains(":2:16: tls.crl-expired: only used with tls.crl");
        assertThat(error("tls:\n  crl: a.crl\n  crl-missing: maybe\n").getMessage())
                .contains("tls.crl-missing: 'maybe' must be one of: reject, accept");
        assertThat(error("tls:\n  min-rsa-bits: 512\n").getMessage()).contains("tls.min-rsa-bits");
        assertThat(error("tls:\n  sha1-signatures: yes\n").getMessage()).contains("tls.sha1-signatures");
        assertThat(error("tls:\n  crl: a.crl\n  crl-check-interval: 0\n").getMessage()).contains("tls.crl-check-interval");
        assertThat(error("tls:\n  crl: a.crl\n  client-auth: none\n").getMessage()).contains("tls.crl");
    }
}
