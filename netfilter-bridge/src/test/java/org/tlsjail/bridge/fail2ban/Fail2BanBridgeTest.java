package org.tlsjail.bridge.fail2ban;

import org.tlsjail.testing.RealPeer;
import org.tlsjail.testing.Await;
import org.tlsjail.testing.RealFail2BanServer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.FailureOutcome;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.bridge.BridgeStartException;
import org.tlsjail.bridge.MutableClock;

/** The Fail2Ban bridge against a real fail2ban-server run by the test. */
class Fail2BanBridgeTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;
    private RealFail2BanServer server;
    private Fail2BanBridge bridge;
    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-30T08:00:00Z"));
    private final BanEngine engine = new BanEngine(JailConfig.defaults(), clock);

    @BeforeEach
    void startServer() throws Exception {
        RealPeer.require(RealFail2BanServer.installed(),
                "fail2ban is not installed (Debian package fail2ban); CI installs it");
        server = new RealFail2BanServer(dir);
        server.start();
    }

    @AfterEach
    void stopAll() {
        if (bridge != null) {
            bridge.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private Fail2BanBridge bridge(Fail2BanMode mode) {
        Fail2BanBridgeConfig config = Fail2BanBridgeConfig.defaults()
                .withSocket(server.socket())
                .withMode(mode)
                .withQueue(q -> q.withTimeout(Duration.ofSeconds(5)).withRetry(Duration.ofMillis(100), Duration.ofMillis(500)));
        bridge = new Fail2BanBridge(config, engine::banned, clock);
        bridge.start();
        engine.addListener(bridge);
        return bridge;
    }

    private void fail3(String address) throws Exception {
        InetAddress a = InetAddress.getByName(address);
        engine.recordFailure(a);
        engine.recordFailure(a);
        assertThat(engine.recordFailure(a)).isEqualTo(FailureOutcome.BANNED);
    }

    @Test
    void engineBanAndUnbanAreMirroredIntoTheJail() throws Exception {
        bridge(Fail2BanMode.BANIP);
        fail3("10.66.0.1");
        Await.until("10.66.0.1 in the jail", WAIT, () -> server.bannedContains("10.66.0.1"), this::state);
        assertThat(bridge.status().connected()).isTrue();

        engine.unban(InetAddress.getByName("10.66.0.1"));
        Await.until("10.66.0.1 gone from the jail", WAIT, () -> !server.bannedContains("10.66.0.1"), this::state);
        assertThat(bridge.status().lastError()).isNull();
    }

    @Test
    void anIpv6PrefixBanReachesTheJailAsCidr() throws Exception {
        bridge(Fail2BanMode.BANIP);
        fail3("2001:db8:1:2::5");
        // Fail2Ban 1.0 takes CIDR text for banip and lists it as given
        Await.until("2001:db8:1:2::/64 in the jail", WAIT, () -> server.bannedContains("2001:db8:1:2::/64"), this::state);
    }

    @Test
    void attemptModeLetsFail2BanCountAndBan() throws Exception {
        bridge(Fail2BanMode.ATTEMPT);
        InetAddress a = InetAddress.getByName("10.66.0.7");
        bridge.onFailure(a, "peer did not return a certificate");
        bridge.onFailure(a, "peer did not return a certificate");
        Await.until("two attempts delivered", WAIT, () -> bridge.status().pending() == 0 && bridge.status().applied() >= 1);
        assertThat(server.bannedContains("10.66.0.7")).as("two attempts are below maxretry 3").isFalse();
        bridge.onFailure(a, "peer did not return a certificate\n; rm -rf / `x`");
        Await.until("Fail2Ban banned 10.66.0.7 itself", WAIT, () -> server.bannedContains("10.66.0.7"), this::state);
        // the engine was never told, so this ban is Fail2Ban's own decision
        assertThat(engine.banned()).isEmpty();
    }

    @Test
    void bansMadeWhileFail2BanIsDownArriveWhenItIsBack() throws Exception {
        bridge(Fail2BanMode.BANIP);
        fail3("10.66.1.1");
        Await.until("first ban in the jail", WAIT, () -> server.bannedContains("10.66.1.1"), this::state);

        server.stop();
        fail3("10.66.1.2");
        fail3("10.66.1.3");
        Await.until("the bridge notices Fail2Ban is gone", WAIT, () -> !bridge.status().connected(), this::state);
        assertThat(bridge.status().lastError()).isNotNull();
        assertThat(bridge.status().pending()).isGreaterThanOrEqualTo(1);

        server.start();
        Await.until("both bans made while down are in the jail", WAIT,
                () -> server.bannedContains("10.66.1.2") && server.bannedContains("10.66.1.3"), this::state);
        assertThat(server.bannedContains("10.66.1.1")).isTrue();
        Await.until("reconnected", WAIT, () -> bridge.status().connected() && bridge.status().pending() == 0, this::state);
    }

    @Test
    void reconciliationRestoresABanRemovedBehindTlsjailsBack() throws Exception {
        bridge(Fail2BanMode.BANIP);
        fail3("10.66.2.1");
        Await.until("ban in the jail", WAIT, () -> server.bannedContains("10.66.2.1"), this::state);
        // someone unbans it in Fail2Ban directly, then Fail2Ban restarts: reconcile puts it back
        server.client("set", "os4x", "unbanip", "10.66.2.1");
        server.stop();
        server.start();
        fail3("10.66.2.2"); // a new event makes the bridge notice the restart
        Await.until("both in the jail again", WAIT,
                () -> server.bannedContains("10.66.2.1") && server.bannedContains("10.66.2.2"), this::state);
    }

    @Test
    void aMissingJailIsAConfigurationErrorAtStart() {
        Fail2BanBridgeConfig config = Fail2BanBridgeConfig.defaults().withSocket(server.socket()).withJail("nosuchjail");
        Fail2BanBridge b = new Fail2BanBridge(config, engine::banned, clock);
        assertThatThrownBy(b::start)
                .isInstanceOf(BridgeStartException.class)
                .hasMessageContaining("bridge.fail2ban.jail")
                .hasMessageContaining("nosuchjail")
                .hasMessageContaining(server.socket().toString())
                .hasMessageContaining("UnknownJailException");
        b.close();
    }

    private String state() {
        String banned;
        try {
            banned = server.banned();
        } catch (Exception e) {
            banned = "(" + e.getMessage() + ")";
        }
        return (bridge == null ? "no bridge" : bridge.status().summary()) + "; jail: " + banned;
    }
}
