package org.tlsjail.bridge.fail2ban;

import org.tlsjail.testing.Await;
import org.tlsjail.testing.FakeFail2BanServer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.bridge.BridgeStartException;
import org.tlsjail.bridge.MutableClock;

/** Fault injection: a fake server answering garbage, nothing, or a bare ERROR string. */
class Fail2BanFaultTest {
    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path dir;
    private FakeFail2BanServer fake;
    private Fail2BanBridge bridge;
    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-30T08:00:00Z"));
    private final BanEngine engine = new BanEngine(JailConfig.defaults(), clock);

    @AfterEach
    void tearDown() throws Exception {
        if (bridge != null) {
            bridge.close();
        }
        if (fake != null) {
            fake.close();
        }
    }

    private Fail2BanBridgeConfig config() {
        return Fail2BanBridgeConfig.defaults().withSocket(dir.resolve("fake.sock"))
                .withQueue(q -> q.withTimeout(Duration.ofMillis(300)).withRetry(Duration.ofMillis(50), Duration.ofMillis(200)));
    }

    private void ban(String address) throws Exception {
        engine.ban(java.net.InetAddress.getByName(address), null, "manual");
    }

    @Test
    void garbageRepliesAreReportedAndTheBanIsDeliveredOnceTheServerHeals() throws Exception {
        fake = new FakeFail2BanServer(dir.resolve("fake.sock"), FakeFail2BanServer.healthyExcept(
                cmd -> FakeFail2BanServer.frame("\u0000\u00ffnot a pickle".getBytes(StandardCharsets.ISO_8859_1))));
        bridge = new Fail2BanBridge(config(), engine::banned, clock);
        bridge.start();
        engine.addListener(bridge);
        ban("10.77.0.1");
        Await.until("garbage reported", WAIT, () -> bridge.status().lastError() != null
                && bridge.status().lastError().contains("unreadable reply"), () -> bridge.status().summary());

        fake.respondWith(FakeFail2BanServer.healthyExcept(cmd -> FakeFail2BanServer.reply(0, 1)));
        Await.until("banip delivered after healing", WAIT,
                () -> fake.requests().contains(List.of("set", "os4x", "banip", "10.77.0.1"))
                        && bridge.status().applied() >= 1 && bridge.status().pending() == 0,
                () -> bridge.status().summary());
        assertThat(bridge.status().connected()).isTrue();
    }

    @Test
    void aHangingServerTimesOutAndDoesNotBlockTheEngine() throws Exception {
        fake = new FakeFail2BanServer(dir.resolve("fake.sock"), FakeFail2BanServer.healthyExcept(cmd -> null));
        bridge = new Fail2BanBridge(config(), engine::banned, clock);
        bridge.start();
        engine.addListener(bridge);
        for (int i = 1; i <= 50; i++) {
            ban("10.78.0." + i); // listener only enqueues: never waits for the hanging server
        }
        Await.until("timeout reported", WAIT, () -> bridge.status().lastError() != null
                && bridge.status().lastError().contains("no complete reply"), () -> bridge.status().summary());
        assertThat(bridge.status().connected()).isFalse();
        Await.until("every change kept for the retry", WAIT, () -> bridge.status().pending() == 50,
                () -> bridge.status().summary());
        assertThat(bridge.status().dropped()).isZero();
    }

    @Test
    void aBareErrorStringIsReportedAndTheBridgeGoesOn() throws Exception {
        fake = new FakeFail2BanServer(dir.resolve("fake.sock"), FakeFail2BanServer.healthyExcept(cmd ->
                cmd.contains("10.79.0.1")
                        ? FakeFail2BanServer.frame(FakeFail2BanServer.pickle("ERROR: pickle data was truncated"))
                        : FakeFail2BanServer.reply(0, 1)));
        bridge = new Fail2BanBridge(config(), engine::banned, clock);
        bridge.start();
        engine.addListener(bridge);
        ban("10.79.0.1");
        ban("10.79.0.2");
        Await.until("second ban delivered", WAIT,
                () -> fake.requests().contains(List.of("set", "os4x", "banip", "10.79.0.2")), () -> bridge.status().summary());
        assertThat(bridge.status().lastError()).contains("banip 10.79.0.1").contains("ERROR: pickle data was truncated");
        assertThat(bridge.status().connected()).isTrue();
    }

    @Test
    void aServerThatNeverAnswersPingFailsStartWithinTheTimeout() throws Exception {
        fake = new FakeFail2BanServer(dir.resolve("fake.sock"), cmd -> null);
        Fail2BanBridge b = new Fail2BanBridge(config(), engine::banned, clock);
        assertThatThrownBy(b::start).isInstanceOf(BridgeStartException.class)
                .hasMessageContaining("did not answer").hasMessageContaining("fake.sock");
        b.close();
    }

    @Test
    void aFullQueueDropsAndCountsInsteadOfGrowing() throws Exception {
        fake = new FakeFail2BanServer(dir.resolve("fake.sock"), FakeFail2BanServer.healthyExcept(cmd -> null));
        bridge = new Fail2BanBridge(config().withQueue(q -> q.withMaxPending(10)), engine::banned, clock);
        bridge.start();
        engine.addListener(bridge);
        for (int i = 1; i <= 40; i++) {
            ban("10.80.0." + i);
        }
        assertThat(bridge.status().pending()).isLessThanOrEqualTo(10 + 1);
        assertThat(bridge.status().dropped()).isGreaterThanOrEqualTo(29);
    }

    @Test
    void noServerAtTheSocketIsAClearErrorAtStart() {
        Path nowhere = dir.resolve("no-such.sock");
        Fail2BanBridge b = new Fail2BanBridge(Fail2BanBridgeConfig.defaults().withSocket(nowhere), engine::banned, clock);
        assertThatThrownBy(b::start)
                .isInstanceOf(BridgeStartException.class)
                .hasMessageContaining("bridge.fail2ban.socket")
                .hasMessageContaining(nowhere.toString());
        b.close();
    }
}
