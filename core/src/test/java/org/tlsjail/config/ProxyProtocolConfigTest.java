package org.tlsjail.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.Addresses;
import org.tlsjail.listener.ProxyProtocolSettings;

/** {@code listen.proxy-protocol}, {@code trusted-proxies}, {@code proxy-header-timeout}: strict, with positions. */
class ProxyProtocolConfigTest {
    @TempDir
    Path dir;

    private TlsjailConfig load(String yaml) throws Exception {
        return TestConfigFiles.load(dir, yaml);
    }

    private String error(String yaml) {
        return TestConfigFiles.refusal(dir, yaml).getMessage();
    }

    @Test
    void offByDefaultAndOnWithTrustedBalancers() throws Exception {
        assertThat(load("listen: {port: 0}\n").listen().proxyProtocol()).isEqualTo(ProxyProtocolSettings.OFF);
        ProxyProtocolSettings p = load("listen:\n  proxy-protocol: v2\n  trusted-proxies: [10.1.2.3, 192.0.2.0/24]\n"
                + "  proxy-header-timeout: 5s\n").listen().proxyProtocol();
        assertThat(p.version()).isEqualTo(ProxyProtocolSettings.Version.V2);
        assertThat(p.headerTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(p.trusts(Addresses.parseLiteral("192.0.2.77"))).isTrue();
        assertThat(p.trusts(Addresses.parseLiteral("10.1.2.3"))).isTrue();
        assertThat(p.trusts(Addresses.parseLiteral("10.1.2.4"))).isFalse();
        assertThat(p.trusts(Addresses.parseLiteral("::ffff:192.0.2.1"))).isTrue();
        assertThat(load("listen:\n  proxy-protocol: any\n  trusted-proxies: 127.0.0.1\n").listen().proxyProtocol()
                .headerTimeout()).isEqualTo(Duration.ofSeconds(3));
        // config show renders it back, and that loads to the same settings
        TlsjailConfig c = load("listen:\n  proxy-protocol: v1\n  trusted-proxies: [\"2001:db8::/64\"]\n");
        Path shown = dir.resolve("shown.yaml");
        Files.writeString(shown, ConfigYaml.render(c));
        assertThat(new ConfigLoader(dir).load(shown, null).listen().proxyProtocol()).isEqualTo(c.listen().proxyProtocol());
    }

    @Test
    void mistakesNameTheOptionAndItsPosition() {
        assertThat(error("listen:\n  proxy-protocol: v3\n"))
                .contains("tlsjail.yaml:2:19").contains("listen.proxy-protocol").contains("none, v1, v2, any");
        assertThat(error("listen:\n  proxy-protocol: any\n"))
                .contains("listen.trusted-proxies").contains("required when listen.proxy-protocol is any");
        assertThat(error("listen:\n  proxy-protocol: v1\n  trusted-proxies: [lb.example.com]\n"))
                .contains("tlsjail.yaml:3:20").contains("not an IP address or CIDR block");
        assertThat(error("listen:\n  trusted-proxies: [10.0.0.1]\n"))
                .contains("listen.trusted-proxies").contains("only used with listen.proxy-protocol");
        assertThat(error("listen:\n  proxy-protocol: v1\n  trusted-proxies: [10.0.0.1]\n  proxy-header-timeout: 2h\n"))
                .contains("tlsjail.yaml:4:25").contains("between 1s and 1m");
        assertThat(error("listen:\n  proxy-protocol: v1\n  trusted-proxies: [10.0.0.1]\n  proxy-header-timeuot: 2s\n"))
                .contains("listen.proxy-header-timeuot").contains("unknown key");
    }

    @Test
    void configCheckWarnsThatHostBridgesCannotBlockBehindABalancer() throws Exception {
        TlsjailConfig c = load("listen:\n  proxy-protocol: v2\n  trusted-proxies: [127.0.0.1]\n"
                + "bridge:\n  nftables: {enabled: true}\n  fail2ban: {enabled: false}\n");
        assertThat(ConfigWarnings.of(c)).singleElement().asString()
                .contains("bridge.nftables").contains("listen.proxy-protocol").contains("bridge.haproxy");
        assertThat(ConfigWarnings.of(load("bridge:\n  nftables: {enabled: true}\n"))).isEmpty();
        assertThat(ConfigWarnings.of(load("listen:\n  proxy-protocol: v1\n  trusted-proxies: [127.0.0.1]\n"
                + "bridge:\n  haproxy: {enabled: true, acl: /etc/haproxy/tlsjail-banned.acl}\n"))).isEmpty();
    }

    @Test
    void configCheckWarnsOfTrustedProxyBlocksWideEnoughToHoldStrangers() throws Exception {
        assertThat(ConfigWarnings.of(load("listen:\n  proxy-protocol: v2\n  trusted-proxies: [0.0.0.0/0, \"::/0\"]\n")))
                .satisfiesExactly(
                        w -> assertThat(w).contains("listen.trusted-proxies: 0.0.0.0/0 trusts every IPv4 peer"),
                        w -> assertThat(w).contains("::/0 trusts every IPv6 peer"));
        assertThat(ConfigWarnings.of(load("listen:\n  proxy-protocol: v1\n  trusted-proxies: [10.0.0.0/8]\n")))
                .singleElement().asString().contains("a whole /8").contains("name only your balancers");
        assertThat(ConfigWarnings.of(load("listen:\n  proxy-protocol: v1\n"
                + "  trusted-proxies: [10.1.0.0/16, 10.2.3.4, \"2001:db8:1::/48\"]\n"))).isEmpty();
    }
}
