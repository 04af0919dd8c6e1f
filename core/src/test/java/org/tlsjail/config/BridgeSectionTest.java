package org.tlsjail.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.bridge.BridgeConfig;
import org.tlsjail.bridge.fail2ban.Fail2BanBridgeConfig;
import org.tlsjail.bridge.fail2ban.Fail2BanMode;
import org.tlsjail.bridge.haproxy.HaproxyBridgeConfig;
import org.tlsjail.bridge.nftables.NftAction;
import org.tlsjail.bridge.nftables.NftablesBridgeConfig;

/**
 * {@code bridge:} is read by the same strict loader as every other section, into the bridge
 * module's records: every key reaches its record, every mistake names option, file, line and
 * column, and checking a configuration creates no bridge and touches no backend.
 */
class BridgeSectionTest {
    @TempDir
    Path dir;

    private TlsjailConfig load(String yaml) throws ConfigException, IOException {
        return new ConfigLoader(dir).load(Files.writeString(dir.resolve("t.yaml"), yaml), null);
    }

    /** The one-line message an operator sees, with the file's name shortened. */
    private String refused(String yaml) {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> load(yaml));
        assertThat(e).as("refused:\n" + yaml).isNotNull();
        return e.getMessage().replace(dir.resolve("t.yaml").toString(), "t.yaml");
    }

    @Test
    void absentOrEmptyOrDisabledMeansNoBridge() throws Exception {
        assertThat(load("listen: {port: 0}\n").bridge()).isEqualTo(BridgeConfig.NONE);
        assertThat(load("bridge:\n").bridge()).isEqualTo(BridgeConfig.NONE);
        assertThat(load("bridge: {fail2ban: null, nftables: {enabled: false}, haproxy: {enabled: false}}\n").bridge())
                .isEqualTo(BridgeConfig.NONE);
        assertThat(ConfigYaml.render(load("bridge: {nftables: {enabled: false}}\n"))).doesNotContain("bridge");
    }

    @Test
    void everyKeyReachesItsRecordAndDefaultsComeFromTheRecords() throws Exception {
        TlsjailConfig c = load("""
                listen: {port: 7000}
                bridge:
                  fail2ban:
                    enabled: true
                    socket: run/f2b.sock
                    jail: tls
                    mode: attempt
                    timeout: 2
                    retry-min: 0.5
                    retry-max: 2m
                    max-pending: 50
                    reconcile-interval: 10m
                  nftables:
                    enabled: yes
                    nft: /usr/sbin/nft
                    table: tj
                    action: reject
                    keep-on-stop: true
                    timeout: 3
                    max-pending: 70
                    reconcile-interval: 30
                  haproxy:
                    enabled: true
                    address: "[::1]:9999"
                    acl: "#3"
                """);
        assertThat(c.bridge().fail2ban().socket()).as("relative to the file, like every path in it")
                .isEqualTo(dir.resolve("run/f2b.sock"));
        assertThat(c.bridge().fail2ban()).isEqualTo(new Fail2BanBridgeConfig(dir.resolve("run/f2b.sock"), "tls",
                Fail2BanMode.ATTEMPT, Fail2BanBridgeConfig.defaults().queue().withTimeout(Duration.ofSeconds(2))
                        .withRetry(Duration.ofMillis(500), Duration.ofMinutes(2)).withMaxPending(50)
                        .withReconcileInterval(Duration.ofMinutes(10))));
        assertThat(c.bridge().nftables().port()).as("defaults to the listener's port").isEqualTo(7000);
        assertThat(c.bridge().nftables()).isEqualTo(new NftablesBridgeConfig(Path.of("/usr/sbin/nft"), "tj", 7000,
                NftAction.REJECT, true, NftablesBridgeConfig.defaults().queue().withTimeout(Duration.ofSeconds(3))
                        .withMaxPending(70).withReconcileInterval(Duration.ofSeconds(30))));
        HaproxyBridgeConfig h = c.bridge().haproxy();
        assertThat(h.socket()).isNull();
        assertThat(h.address()).isEqualTo(new InetSocketAddress(InetAddress.getByName("::1"), 9999));
        assertThat(h.acl()).isEqualTo("#3");
        assertThat(h.queue()).isEqualTo(HaproxyBridgeConfig.defaults().queue());

        // a section with only enabled: true is the record's defaults (nft stays a bare name: PATH lookup)
        TlsjailConfig d = load("bridge: {fail2ban: {enabled: true}, nftables: {enabled: true, port: 1}, haproxy: {enabled: true}}\n");
        assertThat(d.bridge().fail2ban()).isEqualTo(Fail2BanBridgeConfig.defaults());
        assertThat(d.bridge().nftables()).isEqualTo(NftablesBridgeConfig.defaults().withPort(1));
        assertThat(d.bridge().haproxy()).isEqualTo(HaproxyBridgeConfig.defaults());

        // config show prints every default, and what it prints loads again to the same bridges
        for (TlsjailConfig shown : new TlsjailConfig[] {c, d}) {
            String yaml = ConfigYaml.render(shown);
            assertThat(load(yaml).bridge()).isEqualTo(shown.bridge());
        }
        assertThat(ConfigYaml.render(d)).contains("jail: os4x", "retry-max: 1m", "reconcile-interval: 5m", "table: tlsjail",
                "socket: /run/haproxy/admin.sock");
    }

    @Test
    void typeAndKeyMistakesNameOptionFileLineAndColumn() {
        assertThat(refused("bridge:\n  fail2ban:\n    enabled: true\n    jial: os4x\n"))
                .isEqualTo("t.yaml:4:5: bridge.fail2ban.jial: unknown key");
        assertThat(refused("bridge:\n  iptables: {}\n")).isEqualTo("t.yaml:2:3: bridge.iptables: unknown key");
        assertThat(refused("bridge:\n  haproxy: {enabled: true, acls: /x}\n"))
                .isEqualTo("t.yaml:2:28: bridge.haproxy.acls: unknown key");
        assertThat(refused("bridge:\n  nftables: {retry-min: 1}\n")).as("nftables has fixed retry delays")
                .isEqualTo("t.yaml:2:14: bridge.nftables.retry-min: unknown key");
        assertThat(refused("bridge:\n  nftables:\n    enabled: true\n    port: many\n"))
                .isEqualTo("t.yaml:4:11: bridge.nftables.port: expected a whole number, got 'many'");
        assertThat(refused("bridge:\n  nftables: {enabled: maybe}\n"))
                .isEqualTo("t.yaml:2:23: bridge.nftables.enabled: expected true or false, got 'maybe'");
        assertThat(refused("bridge:\n  nftables: on\n")).startsWith("t.yaml:2:13: bridge.nftables: expected a mapping");
        assertThat(refused("bridge: 5\n")).startsWith("t.yaml:1:9: bridge: expected a mapping");
        assertThat(refused("bridge:\n  nftables: !!java.io.File {}\n")).startsWith("t.yaml:2:13: ").containsIgnoringCase("tag");
        assertThat(refused("bridge:\n  fail2ban:\n    jail: [1]\n"))
                .isEqualTo("t.yaml:3:11: bridge.fail2ban.jail: expected a single value, got a list");
        assertThat(refused("bridge:\n  fail2ban: {timeout: soon}\n")).startsWith("t.yaml:2:23: bridge.fail2ban.timeout: ");
        assertThat(refused("bridge:\n  fail2ban: {timeout: -1}\n"))
                .isEqualTo("t.yaml:2:23: bridge.fail2ban.timeout: -1 (permanent) is not a valid value here");
    }

    @Test
    void theRecordsOwnChecksPointAtTheOptionTheyName() {
        assertThat(refused("bridge:\n  nftables:\n    enabled: true\n    port: 70000\n"))
                .isEqualTo("t.yaml:4:11: bridge.nftables.port: must be 1..65535, got 70000");
        assertThat(refused("bridge:\n  nftables:\n    table: \"x; flush ruleset\"\n"))
                .as("checked although not enabled").startsWith("t.yaml:3:12: bridge.nftables.table: expected a name");
        assertThat(refused("bridge:\n  fail2ban: {enabled: no, timeout: 0}\n"))
                .isEqualTo("t.yaml:2:36: bridge.fail2ban.timeout: must be a positive duration, got PT0S");
        assertThat(refused("bridge:\n  fail2ban: {mode: ban}\n"))
                .isEqualTo("t.yaml:2:20: bridge.fail2ban.mode: expected banip or attempt, got 'ban'");
        assertThat(refused("bridge:\n  nftables: {action: accept}\n"))
                .isEqualTo("t.yaml:2:22: bridge.nftables.action: expected drop or reject, got 'accept'");
        assertThat(refused("bridge:\n  haproxy: {max-pending: 0}\n"))
                .isEqualTo("t.yaml:2:26: bridge.haproxy.max-pending: must be 1..10000000, got 0");
        assertThat(refused("bridge:\n  haproxy:\n    retry-min: 2m\n"))
                .as("retry-max is not written: the message points at the section")
                .isEqualTo("t.yaml:3:5: bridge.haproxy.retry-max: must be at least bridge.haproxy.retry-min (2m), got 1m");
        assertThat(refused("bridge:\n  haproxy: {socket: /run/x.sock, address: \"127.0.0.1:1\"}\n"))
                .startsWith("t.yaml:2:43: bridge.haproxy.address: set either").endsWith("not both");
        assertThat(refused("bridge:\n  haproxy: {address: \"10.0.0.1:9999\"}\n"))
                .startsWith("t.yaml:2:22: bridge.haproxy.address: must be a loopback address");
        assertThat(refused("bridge:\n  haproxy: {address: localhost:9999}\n"))
                .startsWith("t.yaml:2:22: bridge.haproxy.address: expected a loopback IP:PORT");
        assertThat(refused("bridge:\n  haproxy: {acl: \"/x.acl; shutdown sessions\"}\n"))
                .startsWith("t.yaml:2:18: bridge.haproxy.acl: expected the ACL file's absolute path");
        assertThat(refused("listen: {port: 0}\nbridge:\n  nftables: {table: x}\n"))
                .as("port: 0 lets the kernel choose, which no firewall rule can follow")
                .isEqualTo("t.yaml:3:13: bridge.nftables.port: must be 1..65535, got 0");
    }

    /**
     * What the old check did (build real bridges on a throwaway engine) could have reached a
     * backend; this one must not: a Fail2Ban socket and a HAProxy runtime API that are listening
     * see no connection, and no bridge thread exists after a successful load.
     */
    @Test
    void checkingConnectsToNothingAndStartsNoThread() throws Exception {
        Path sock = dir.resolve("f2b.sock");
        try (ServerSocketChannel f2b = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
             ServerSocketChannel api = ServerSocketChannel.open()) {
            f2b.bind(UnixDomainSocketAddress.of(sock));
            api.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            f2b.configureBlocking(false);
            api.configureBlocking(false);
            int port = ((InetSocketAddress) api.getLocalAddress()).getPort();
            TlsjailConfig c = load("bridge:\n  fail2ban: {enabled: true, socket: " + sock + "}\n"
                    + "  haproxy: {enabled: true, address: \"127.0.0.1:" + port + "\"}\n"
                    + "  nftables: {enabled: true, port: 1, nft: " + dir.resolve("nft-that-would-fail") + "}\n");
            assertThat(c.bridge().fail2ban().socket()).isEqualTo(sock);
            assertThat(f2b.accept()).as("no connection to Fail2Ban's socket").isNull();
            assertThat(api.accept()).as("no connection to HAProxy's runtime API").isNull();
            assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().startsWith("tlsjail-bridge-"));
        }
    }
}
