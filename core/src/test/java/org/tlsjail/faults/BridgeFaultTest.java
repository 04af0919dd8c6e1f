package org.tlsjail.faults;

import org.tlsjail.testing.RealPeer;
import org.tlsjail.testing.Await;
import org.tlsjail.testing.FakeFail2BanServer;
import org.tlsjail.testing.RealFail2BanServer;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.BanRecord;
import org.tlsjail.bridge.BridgeStatus;
import org.tlsjail.bridge.fail2ban.Fail2BanBridge;
import org.tlsjail.bridge.fail2ban.Fail2BanBridgeConfig;
import org.tlsjail.bridge.fail2ban.Fail2BanMode;
import org.tlsjail.banengine.FailureOutcome;
import org.tlsjail.listener.HandshakeFailure;
import org.tlsjail.listener.HandshakeObserver;

/**
 * Case 7: the Fail2Ban bridge's server fails under a running tlsjail (real listener, real engine,
 * bans made by real failed handshakes). Faults: the real fail2ban-server killed with SIGKILL, its
 * socket replaced by a regular file, a server answering garbage, a server that never answers.
 * During each the accept loop keeps going (every failure is handled, a banned source is refused,
 * a partner's mutual-TLS session completes well within the handshake timeout) and the bans made
 * meanwhile stay pending (none dropped); after the server returns, every active ban is in the jail.
 */
class BridgeFaultTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final int BANS_DURING_FAULT = 5;
    private static final int PARTNER_SAMPLES = 5;

    @TempDir
    static Path pkiDir;
    static TestPki pki;

    @TempDir
    Path dir;

    @BeforeAll
    static void pki() throws Exception {
        pki = TestPki.create(pkiDir);
    }

    interface Step {
        void run() throws Exception;
    }

    /** The jail's view: does it hold every one of these addresses? */
    interface Jail {
        boolean holdsAll(List<String> addresses);
    }

    private static Fail2BanBridgeConfig config(Path socket) {
        return Fail2BanBridgeConfig.defaults().withSocket(socket)
                .withQueue(q -> q.withTimeout(Duration.ofMillis(500)).withRetry(Duration.ofMillis(50), Duration.ofMillis(400)));
    }

    private static void banByFailures(ListenerUnderTest tlsjail, String source) throws Exception {
        for (int i = 0; i < 3; i++) {
            tlsjail.garbageFrom(source);
        }
        assertThat(tlsjail.isBanned(source)).as(source + " banned in-process").isTrue();
    }

    /** Median and maximum of a few partner sessions (connect, mutual-TLS handshake, greeting). */
    private static double[] partnerSessions(ListenerUnderTest tlsjail, String source) throws Exception {
        double[] ms = new double[PARTNER_SAMPLES];
        for (int i = 0; i < ms.length; i++) {
            ms[i] = tlsjail.partnerSessionMillis(source);
        }
        Arrays.sort(ms);
        return new double[] {ms[ms.length / 2], ms[ms.length - 1]};
    }

    private static List<String> active(ListenerUnderTest tlsjail) {
        return tlsjail.engine.banned().stream().map(BanRecord::key).map(Object::toString).toList();
    }

    /**
     * Sources 127.7.{block}.x: .1 banned while the server is healthy, .2-.6 banned during the
     * fault, .200 the partner.
     */
    private void exercise(String name, int block, Path socket, Jail jail, Step inject, Step heal) throws Exception {
        String p = "127.7." + block + ".";
        try (ListenerUnderTest tlsjail = new ListenerUnderTest(pki, List.of());
             Fail2BanBridge bridge = new Fail2BanBridge(config(socket), tlsjail.engine::banned, InstantSource.system())) {
            bridge.startOn(tlsjail.engine);
            banByFailures(tlsjail, p + "1");
            Await.until("first ban in the jail", WAIT, () -> jail.holdsAll(List.of(p + "1")), () -> bridge.status().summary());
            double[] before = partnerSessions(tlsjail, p + "200");

            inject.run();
            long acceptedBefore = tlsjail.listener.stats().accepted();
            List<String> duringFault = new ArrayList<>();
            for (int i = 2; i < 2 + BANS_DURING_FAULT; i++) {
                banByFailures(tlsjail, p + i);
                duringFault.add(p + i);
            }
            assertThat(tlsjail.refusedFrom(p + "2")).as("a banned source is refused during the fault").isTrue();
            double[] during = partnerSessions(tlsjail, p + "200");
            assertThat(tlsjail.listener.stats().accepted() - acceptedBefore)
                    .as("every connection of the fault period was accepted")
                    .isEqualTo(3L * BANS_DURING_FAULT + 1 + PARTNER_SAMPLES);
            assertThat(during[1]).as("partner session during the fault").isLessThan(ListenerUnderTest.HANDSHAKE_TIMEOUT.toMillis());
            Await.until("the bridge reports the fault and keeps every ban pending", WAIT, () -> {
                BridgeStatus s = bridge.status();
                return !s.connected() && s.lastError() != null && s.pending() == BANS_DURING_FAULT;
            }, () -> bridge.status().summary());
            BridgeStatus faulted = bridge.status();
            assertThat(faulted.dropped()).isZero();

            long t0 = System.nanoTime();
            heal.run();
            Await.until("every active ban in the jail after the server returned", WAIT,
                    () -> jail.holdsAll(active(tlsjail)) && bridge.status().pending() == 0, () -> bridge.status().summary());
            double deliverMs = (System.nanoTime() - t0) / 1e6;
            BridgeStatus healed = bridge.status();
            assertThat(active(tlsjail)).hasSize(1 + BANS_DURING_FAULT).containsAll(duringFault);
            assertThat(healed.dropped()).isZero();
            Await.until("connected again", WAIT, () -> bridge.status().connected());
            System.out.printf("faults: bridge %-32s bans during fault %d, pending %d, dropped %d, all %d active bans in"
                            + " the jail %.0f ms after healing; partner session median/max %.1f/%.1f ms before, %.1f/%.1f ms"
                            + " during; last error: %s%n", name, BANS_DURING_FAULT, faulted.pending(), faulted.dropped(),
                    active(tlsjail).size(), deliverMs, before[0], before[1], during[0], during[1], faulted.lastError());
        }
    }

    private static Jail fakeJail(FakeFail2BanServer[] fake) {
        return addresses -> fake[0] != null && fake[0].banned().containsAll(addresses);
    }

    @Test
    void realFail2BanServerKilled() throws Exception {
        RealPeer.require(RealFail2BanServer.installed(), "fail2ban is not installed (Debian package fail2ban); CI installs it");
        try (RealFail2BanServer server = new RealFail2BanServer(dir)) {
            server.start();
            exercise("fail2ban-server killed (-9)", 1, server.socket(), server::bannedContainsAll,
                    server::kill, server::start);
        }
    }

    @Test
    void socketReplacedByARegularFile() throws Exception {
        Path socket = dir.resolve("f2b.sock");
        FakeFail2BanServer[] fake = {new FakeFail2BanServer(socket)};
        try {
            exercise("socket replaced by a regular file", 2, socket, fakeJail(fake), () -> {
                fake[0].close();
                fake[0] = null;
                Files.writeString(socket, "not a socket\n");
            }, () -> {
                Files.delete(socket);
                fake[0] = new FakeFail2BanServer(socket);
            });
        } finally {
            if (fake[0] != null) {
                fake[0].close();
            }
        }
    }

    @Test
    void serverAnsweringGarbage() throws Exception {
        try (FakeFail2BanServer fake = new FakeFail2BanServer(dir.resolve("f2b.sock"))) {
            exercise("server answering garbage", 3, dir.resolve("f2b.sock"), fake.banned()::containsAll,
                    () -> fake.behave(FakeFail2BanServer.Behaviour.GARBAGE),
                    () -> fake.behave(FakeFail2BanServer.Behaviour.HEALTHY));
        }
    }

    @Test
    void serverHanging() throws Exception {
        try (FakeFail2BanServer fake = new FakeFail2BanServer(dir.resolve("f2b.sock"))) {
            exercise("server hanging (never answers)", 4, dir.resolve("f2b.sock"), fake.banned()::containsAll,
                    () -> fake.behave(FakeFail2BanServer.Behaviour.HANG),
                    () -> fake.behave(FakeFail2BanServer.Behaviour.HEALTHY));
        }
    }

    /**
     * Attempt mode (Fail2Ban decides): the listener reports every failed handshake to the bridge,
     * as the daemon does. With the server hanging, the attempts stay queued (coalesced per
     * address); after it recovers, Fail2Ban receives exactly as many attempts as there were failures.
     */
    @Test
    void attemptModeWithAHangingServerDeliversEveryAttemptExactlyOnce() throws Exception {
        Path socket = dir.resolve("f2b.sock");
        Fail2BanBridge[] bridge = new Fail2BanBridge[1];
        HandshakeObserver toBridge = new HandshakeObserver() {
            @Override
            public void onFailure(HandshakeFailure f, FailureOutcome outcome) {
                bridge[0].onFailure(f.remote().getAddress(), f.reason());
            }
        };
        try (FakeFail2BanServer fake = new FakeFail2BanServer(socket);
             ListenerUnderTest tlsjail = new ListenerUnderTest(pki, List.of(toBridge))) {
            bridge[0] = new Fail2BanBridge(config(socket).withMode(Fail2BanMode.ATTEMPT), tlsjail.engine::banned,
                    InstantSource.system());
            try {
                bridge[0].startOn(tlsjail.engine);
                tlsjail.garbageFrom("127.7.5.1");
                Await.until("healthy attempt delivered", WAIT, () -> attempts(fake, "127.7.5.1") == 1,
                        () -> bridge[0].status().summary());
                double[] before = partnerSessions(tlsjail, "127.7.5.200");
                fake.behave(FakeFail2BanServer.Behaviour.HANG);
                List<String> sources = List.of("127.7.5.2", "127.7.5.3", "127.7.5.4");
                for (String s : sources) {
                    banByFailures(tlsjail, s);
                }
                double[] during = partnerSessions(tlsjail, "127.7.5.200");
                assertThat(during[1]).isLessThan(ListenerUnderTest.HANDSHAKE_TIMEOUT.toMillis());
                Await.until("attempts kept while the server hangs", WAIT, () -> {
                    BridgeStatus st = bridge[0].status();
                    return !st.connected() && st.pending() == sources.size();
                }, () -> bridge[0].status().summary());
                BridgeStatus faulted = bridge[0].status();
                long t0 = System.nanoTime();
                fake.behave(FakeFail2BanServer.Behaviour.HEALTHY);
                Await.until("every attempt delivered", WAIT, () -> bridge[0].status().pending() == 0
                        && sources.stream().allMatch(s -> attempts(fake, s) >= 3), () -> bridge[0].status().summary()
                        + "; attempts acted on: " + sources.stream().map(s -> s + "=" + attempts(fake, s)).toList());
                double deliverMs = (System.nanoTime() - t0) / 1e6;
                for (String s : sources) {
                    assertThat(attempts(fake, s)).as("attempts of " + s + " delivered exactly once").isEqualTo(3);
                }
                assertThat(bridge[0].status().dropped()).isZero();
                System.out.printf("faults: bridge %-32s failures during fault %d, pending addresses %d, dropped %d, all"
                                + " delivered exactly once %.0f ms after healing; partner session median/max %.1f/%.1f ms"
                                + " before, %.1f/%.1f ms during%n", "attempt mode, server hanging", 3 * sources.size(),
                        faulted.pending(), faulted.dropped(), deliverMs, before[0], before[1], during[0], during[1]);
            } finally {
                if (bridge[0] != null) {
                    bridge[0].close();
                }
            }
        }
    }

    /** Attempts the fake acted on for {@code address} (a request it never answered does not count). */
    private static long attempts(FakeFail2BanServer fake, String address) {
        return fake.processed().stream().filter(r -> r.size() >= 4 && r.get(2).equals("attempt") && r.get(3).equals(address)).count();
    }
}
