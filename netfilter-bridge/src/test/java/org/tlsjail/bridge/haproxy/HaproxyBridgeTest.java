package org.tlsjail.bridge.haproxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.bridge.BridgeStartException;
import org.tlsjail.bridge.MutableClock;
import org.tlsjail.testing.Await;
import org.tlsjail.testing.Haproxy;

/** The HAProxy bridge against the real haproxy: its ACL follows the engine, across a HAProxy restart. */
class HaproxyBridgeTest {
    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-30T08:00:00Z"));
    private final BanEngine engine = new BanEngine(JailConfig.defaults(), clock);
    private Haproxy haproxy;
    private HaproxyBridge bridge;
    private int frontPort;

    @BeforeEach
    void start() throws Exception {
        Haproxy.requireInstalled();
        frontPort = Haproxy.freePort();
        haproxy = startHaproxy();
    }

    private Haproxy startHaproxy() throws Exception {
        return Haproxy.start(dir.resolve("hx"), Map.of(frontPort, "server s 127.0.0.1:1"));
    }

    @AfterEach
    void stop() throws Exception {
        if (bridge != null) {
            engine.removeListener(bridge);
            bridge.close();
        }
        if (haproxy != null) {
            haproxy.close();
        }
    }

    private HaproxyBridge bridge(HaproxyBridgeConfig c) {
        HaproxyBridge b = new HaproxyBridge(c, engine::banned, clock);
        b.startOn(engine);
        return b;
    }

    private HaproxyBridgeConfig config() {
        return HaproxyBridgeConfig.defaults().withSocket(haproxy.adminSocket).withAcl(haproxy.acl.toString())
                .withQueue(q -> q.withRetry(Duration.ofMillis(100), Duration.ofMillis(400)).withTimeout(Duration.ofSeconds(5))
                        // short, so a stray entry made after the reconnect's reconciliation is caught by the next
                        .withReconcileInterval(Duration.ofSeconds(1)));
    }

    private List<String> entries() {
        try {
            return haproxy.aclEntries();
        } catch (java.io.IOException e) {
            return List.of("(HAProxy down: " + e + ")");
        }
    }

    private static InetAddress ip(String s) throws Exception {
        return InetAddress.getByName(s);
    }

    @Test
    void bansAndUnbansFollowTheEngineAndSurviveAHaproxyRestart() throws Exception {
        engine.ban(ip("192.0.2.7"), Duration.ofHours(1), "before start"); // written at start
        bridge = bridge(config());
        assertThat(entries()).containsExactly("192.0.2.7");

        engine.ban(ip("2001:db8:1:2::5"), Duration.ofHours(1), "manual");
        engine.ban(ip("192.0.2.8"), Duration.ofHours(1), "manual");
        Await.until("bans in the ACL", Duration.ofSeconds(20),
                () -> entries().containsAll(List.of("192.0.2.8", "2001:db8:1:2::/64")), () -> entries().toString());
        engine.ban(ip("192.0.2.8"), Duration.ofHours(2), "again"); // a refreshed ban: still one entry
        engine.unban(ip("192.0.2.7"));
        Await.until("unban in the ACL", Duration.ofSeconds(20), () -> !entries().contains("192.0.2.7"),
                () -> entries().toString());
        assertThat(entries()).containsExactlyInAnyOrder("192.0.2.8", "2001:db8:1:2::/64");

        // HAProxy goes away: changes stay queued, the status says so
        haproxy.stop();
        engine.ban(ip("198.51.100.9"), Duration.ofHours(1), "while down");
        Await.until("disconnected", Duration.ofSeconds(20), () -> !bridge.status().connected(),
                () -> bridge.status().summary());
        assertThat(bridge.status().lastError()).isNotNull();

        // back, with only what its file on disk holds (nothing) plus a stray entry: the bridge
        // retries, applies the queued ban and reconciles the rest; the stray entry goes
        haproxy = startHaproxy();
        haproxy.command("add acl " + haproxy.acl + " 203.0.113.66");
        Await.until("ACL restored", Duration.ofSeconds(30),
                () -> entries().size() == 3 && entries().containsAll(List.of("192.0.2.8", "2001:db8:1:2::/64",
                        "198.51.100.9")), () -> entries() + " / " + bridge.status().summary());
        Await.until("connected", Duration.ofSeconds(10), () -> bridge.status().connected(),
                () -> bridge.status().summary());
        assertThat(bridge.status().summary()).startsWith("haproxy acl " + haproxy.acl + " at " + haproxy.adminSocket)
                .contains("pending 0");
    }

    @Test
    void startFailsNamingTheOptionToFix() throws Exception {
        assertThatThrownBy(() -> bridge(config().withAcl("/nonexistent/banned.acl")))
                .isInstanceOf(BridgeStartException.class).hasMessageContaining("bridge.haproxy.acl")
                .hasMessageContaining("src -f /nonexistent/banned.acl");
        assertThatThrownBy(() -> bridge(config().withSocket(dir.resolve("nosuch.sock"))))
                .isInstanceOf(BridgeStartException.class).hasMessageContaining("bridge.haproxy.socket")
                .hasMessageContaining("level admin");
        // a socket of a lower level cannot add ACL entries: refused at start
        Path cfg = dir.resolve("hx").resolve("haproxy.cfg");
        haproxy.close();
        Files.writeString(cfg, Files.readString(cfg).replace("level admin", "level operator"));
        Process p = new ProcessBuilder(Haproxy.BINARY.toString(), "-db", "-f", cfg.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("op.out").toFile()).start();
        try {
            Await.until("operator socket", Duration.ofSeconds(20), () -> {
                try {
                    return haproxy.command("show cli level").startsWith("operator");
                } catch (java.io.IOException e) {
                    return false;
                }
            }, () -> "");
            assertThatThrownBy(() -> bridge(config())).isInstanceOf(BridgeStartException.class)
                    .hasMessageContaining("level 'operator'").hasMessageContaining("level admin");
        } finally {
            p.destroy();
            p.waitFor();
        }
        haproxy = null;
    }

    @Test
    void theConfigurationIsStrict() {
        assertThatThrownBy(() -> HaproxyBridgeConfig.defaults().withAcl("/etc/haproxy/x.acl; shutdown sessions"))
                .hasMessageContaining("bridge.haproxy.acl");
        assertThatThrownBy(() -> HaproxyBridgeConfig.defaults().withAddress(
                new java.net.InetSocketAddress(InetAddress.getByAddress(new byte[] {10, 0, 0, 1}), 9999)))
                .hasMessageContaining("loopback");
        HaproxyBridgeConfig d = HaproxyBridgeConfig.defaults();
        assertThatThrownBy(() -> new HaproxyBridgeConfig(d.socket(), HaproxyBridgeConfig.parseAddress("127.0.0.1:1"),
                d.acl(), d.queue())).hasMessageContaining("not both");
        assertThatThrownBy(() -> HaproxyBridgeConfig.parseAddress("dead.beef:9999"))
                .hasMessageStartingWith("bridge.haproxy.address: ").hasMessageContaining("host names are not resolved");
        assertThatThrownBy(() -> HaproxyBridgeConfig.parseAddress("127.0.0.1:0")).hasMessageContaining("IP:PORT");
        assertThat(HaproxyBridgeConfig.parseAddress("[::1]:9999").getAddress().isLoopbackAddress()).isTrue();
        HaproxyBridgeConfig tcp = d.withAddress(HaproxyBridgeConfig.parseAddress("127.0.0.1:9999")).withAcl("#3");
        assertThat(org.tlsjail.bridge.HostBanBridges.create(new org.tlsjail.bridge.BridgeConfig(null, null, tcp), engine,
                clock)).singleElement()
                .satisfies(b -> assertThat(b.status().name()).isEqualTo("haproxy acl #3 at 127.0.0.1:9999"));
    }
}
