package org.tlsjail.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.EngineStats;
import org.tlsjail.banengine.FailureOutcome;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.listener.FailureKind;
import org.tlsjail.listener.ListenerConfig;
import org.tlsjail.listener.ListenerStats;

/**
 * Case 3 of the hostile suite: failures from a spray of distinct source addresses. Memory stays
 * under the configured caps (jail.max-tracked), bans made before the spray are neither evicted
 * nor shortened, and isBanned stays fast (figures printed, no timing assertions).
 *
 * <p>Two sizes of proof: real TCP connections from distinct 127.0.0.0/8 sources through the
 * listener with a lowered max-tracked (CI: 30,000 sources over a cap of 10,000; full size:
 * 1,050,000 sources over the default cap of 1,000,000), and 1,200,000+ distinct sources through
 * the listener's failure path into the engine (recordFailure with the listener's weight and
 * reason) at the default cap.
 */
class AddressSprayTest {
    private static final int CLIENT_THREADS = 6;
    private static final int PRE_BANNED = 20;

    @TempDir
    Path dir;

    @Test
    void tcpSprayThroughTheListenerKeepsTheCapAndTheBans() throws Exception {
        HostileScale scale = HostileScale.current();
        int sources = scale.tcpSpraySources();
        int cap = scale.tcpSprayMaxTracked();
        JailConfig jail = JailConfig.builder().maxTrackedKeys(cap).build();
        try (HostileServer server = new HostileServer(dir, jail, b -> b.handshakeTimeout(Duration.ofSeconds(5)))) {
            // bans made before the spray, the way real attackers earn them: three failed handshakes each
            List<InetAddress> banned = new ArrayList<>();
            for (int i = 0; i < PRE_BANNED; i++) {
                InetAddress a = Sources.of(70, i);
                for (int k = 0; k < 3; k++) {
                    assertThat(failOnce(server.address(), a)).isTrue();
                }
                banned.add(a);
            }
            awaitBans(server, PRE_BANNED);
            ProcessProbe.Snapshot before = ProcessProbe.snapshot();
            long linesBefore = server.logLines();

            AtomicInteger next = new AtomicInteger();
            LongAdder notAccepted = new LongAdder();
            long t0 = System.nanoTime();
            ExecutorService clients = Executors.newFixedThreadPool(CLIENT_THREADS);
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < CLIENT_THREADS; t++) {
                fs.add(clients.submit(() -> {
                    int i;
                    while ((i = next.getAndIncrement()) < sources) {
                        try {
                            failOnce(server.address(), Sources.of(128, i));
                        } catch (IOException e) {
                            notAccepted.increment();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
            clients.shutdown();
            assertThat(clients.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
            double seconds = (System.nanoTime() - t0) / 1e9;
            long expected = PRE_BANNED * 3L + sources;
            ListenerStats s = server.awaitQuiet(expected, Duration.ofSeconds(30));
            assertThat(server.log.flush(Duration.ofSeconds(30))).isTrue();
            EngineStats es = server.engine.stats();
            ProcessProbe.Snapshot after = ProcessProbe.snapshot();
            double[] ns = isBannedNanos(server.engine, banned);
            System.out.printf("hostile: case 3 TCP spray (%s): %d distinct sources in %.1f s (%.0f/s), max-tracked %d;"
                    + " listener %s; engine %s%n", scale.name(), sources, seconds, sources / seconds, cap, s, es);
            System.out.printf("hostile: case 3 TCP spray heap before %.1f MiB, after %.1f MiB; isBanned %.0f ns/op (not banned),"
                    + " %.0f ns/op (banned)%n", before.heap() / 1048576.0, after.heap() / 1048576.0, ns[0], ns[1]);

            assertThat(notAccepted.sum()).isZero();
            assertThat(s.accepted()).isEqualTo(expected);
            assertThat(s.handshakesFailed()).as("every sprayed source failed once").isEqualTo(expected);
            assertThat(server.logLines() - linesBefore).as("one Fail2Ban line per sprayed failure").isEqualTo(sources);
            assertThat(es.trackedKeys()).as("tracked sources under max-tracked").isLessThanOrEqualTo(cap);
            assertThat(es.evictions()).as("the cap was actually reached").isGreaterThanOrEqualTo(sources - cap);
            assertThat(es.activeBans()).isEqualTo(PRE_BANNED);
            assertThat(es.bansDropped()).isZero();
            for (InetAddress a : banned) {
                assertThat(server.engine.isBanned(a)).as("%s still banned", a).isTrue();
            }
            // and they are still refused at the door: no TLS, no new log line
            long refusedBefore = server.listener.stats().refusedBanned();
            for (InetAddress a : banned) {
                try {
                    failOnce(server.address(), a);
                } catch (IOException resetAtConnect) {
                    // RST may beat connect(): still a refusal
                }
            }
            server.awaitQuiet(expected + PRE_BANNED, Duration.ofSeconds(10));
            server.log.flush(Duration.ofSeconds(10));
            assertThat(server.listener.stats().refusedBanned() - refusedBefore).isEqualTo(PRE_BANNED);
            assertThat(server.logLines() - linesBefore).isEqualTo(sources);
            server.legitimateHandshake(HostileServer.LEGIT_SOURCE, 5000);
            // bounded by the cap, not by the spray: at most 256 bytes per tracked source plus 32 MiB
            assertThat(after.heap() - before.heap()).as("heap bounded by the cap").isLessThan(cap * 256L + (32L << 20));
        }
    }

    @Test
    void engineSprayOfMoreThanAMillionSourcesKeepsTheCapAndTheBans() throws Exception {
        HostileScale scale = HostileScale.current();
        int sources = scale.engineSpraySources();
        int cap = scale.engineSprayMaxTracked();
        JailConfig jail = JailConfig.builder().maxTrackedKeys(cap).build();
        BanEngine engine = new BanEngine(jail, InstantSource.system());
        ListenerConfig listener = ListenerConfig.builder().build();
        List<InetAddress> banned = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            InetAddress a = v4(10, 1 + i / 250, i % 250);
            FailureOutcome o = null;
            for (int k = 0; k < 3; k++) {
                o = recordAsTheListenerDoes(engine, listener, a, FailureKind.NO_CERTIFICATE);
            }
            assertThat(o).isEqualTo(FailureOutcome.BANNED);
            banned.add(a);
        }
        long heapBefore = ProcessProbe.retainedHeap();
        long t0 = System.nanoTime();
        for (int i = 0; i < sources; i++) {
            // 127.128.0.0 upwards: a distinct /32 each
            recordAsTheListenerDoes(engine, listener, v4(127, 128 + (i >>> 16), (i >>> 8) & 0xFF, i & 0xFF),
                    FailureKind.WRONG_VERSION_NUMBER);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        long heapAfter = ProcessProbe.retainedHeap();
        EngineStats es = engine.stats();
        double[] ns = isBannedNanos(engine, banned);
        System.out.printf("hostile: case 3 engine spray (%s): %d distinct sources in %.1f s (%.0f ns/failure), max-tracked %d;"
                + " engine %s%n", scale.name(), sources, seconds, seconds * 1e9 / sources, cap, es);
        System.out.printf("hostile: case 3 engine spray heap +%.1f MiB for %d tracked sources (%.0f bytes each);"
                + " isBanned %.0f ns/op (not banned), %.0f ns/op (banned)%n", (heapAfter - heapBefore) / 1048576.0,
                es.trackedKeys(), (double) (heapAfter - heapBefore) / Math.max(1, es.trackedKeys()), ns[0], ns[1]);

        assertThat(sources).isGreaterThan(1_000_000);
        assertThat(es.trackedKeys()).as("tracked sources under max-tracked").isLessThanOrEqualTo(cap);
        assertThat(es.evictions()).isGreaterThanOrEqualTo(sources - cap);
        assertThat(es.activeBans()).isEqualTo(banned.size());
        assertThat(es.bansDropped()).isZero();
        for (InetAddress a : banned) {
            assertThat(engine.isBanned(a)).as("%s still banned", a).isTrue();
        }
        // a bound that a leak per source would break: 1M tracked sources in well under 256 MiB
        assertThat(heapAfter - heapBefore).isLessThan(256L << 20);
    }

    /** What TlsListener does with a classified failure: the kind's weight and reason into the engine. */
    private static FailureOutcome recordAsTheListenerDoes(BanEngine engine, ListenerConfig config, InetAddress source,
            FailureKind kind) {
        int w = config.weight(kind);
        return w == 0 ? FailureOutcome.IGNORED : engine.recordFailure(source, w, kind.reason());
    }

    /** Mean ns per isBanned call: [0] sources that are not banned, [1] banned ones. No assertion: a figure. */
    static double[] isBannedNanos(BanEngine engine, List<InetAddress> banned) throws UnknownHostException {
        int n = 1 << 16;
        InetAddress[] others = new InetAddress[n];
        SplittableRandom rnd = new SplittableRandom(7);
        for (int i = 0; i < n; i++) {
            others[i] = v4(127, 128 + rnd.nextInt(64), rnd.nextInt(256), rnd.nextInt(256));
        }
        InetAddress[] bans = banned.toArray(InetAddress[]::new);
        long sink = 0;
        double[] out = new double[2];
        for (int round = 0; round < 3; round++) { // the last round counts; the first ones warm up the JIT
            int calls = 4_000_000;
            long t0 = System.nanoTime();
            for (int i = 0; i < calls; i++) {
                sink += engine.isBanned(others[i & (n - 1)]) ? 1 : 0;
            }
            long t1 = System.nanoTime();
            for (int i = 0; i < calls; i++) {
                sink += engine.isBanned(bans[i % bans.length]) ? 1 : 0;
            }
            long t2 = System.nanoTime();
            out[0] = (t1 - t0) / (double) calls;
            out[1] = (t2 - t1) / (double) calls;
        }
        if (sink == 42) {
            System.out.print("");
        }
        return out;
    }

    private static InetAddress v4(int a, int b, int c, int d) throws UnknownHostException {
        return InetAddress.getByAddress(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
    }

    private static InetAddress v4(int a, int b, int c) throws UnknownHostException {
        return v4(a, b, c, 1);
    }

    private static void awaitBans(HostileServer server, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.engine.stats().activeBans() < n && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    /** One connection that sends a non-TLS byte and half-closes; returns after the listener closed it. */
    static boolean failOnce(InetSocketAddress server, InetAddress src) throws IOException {
        try (Socket s = new Socket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(src, 0));
            s.connect(server, 10_000);
            s.setSoTimeout(10_000);
            try {
                s.getOutputStream().write('X');
                s.shutdownOutput();
                InputStream in = s.getInputStream();
                while (in.read() >= 0) {
                    // nothing expected
                }
            } catch (java.net.SocketTimeoutException e) {
                throw e;
            } catch (IOException reset) {
                // a refused (banned) source gets an RST
            }
            return true;
        }
    }
}
