package org.tlsjail.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.listener.ListenerStats;
import org.tlsjail.testing.StalledFlood;

/**
 * Issue 10, items 2, 3 and 5: waves of connections from hundreds of sources that send a whole
 * ClientHello and stall (the server does its half of each handshake, then waits) while a partner
 * with a valid certificate connects once a second. The partner completes every handshake, is
 * never in the Fail2Ban log and never banned; each attacking source gets at most maxretry server
 * flights; afterwards the listener's threads and file descriptors are back near their baseline.
 *
 * <p>CI size: 2 waves of 96 sources x 8 connections; {@code -Dtlsjail.hostile.scale=full}: 2 waves
 * of 512 x 8 (the flood of the issue), fd limit permitting.
 */
class PartnerUnderFloodTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private static final int PER_SOURCE = 8;
    private static final int WAVES = 2;

    @TempDir
    Path dir;

    @Test
    void partnerKeepsFullServiceWhileStalledHandshakesFloodAndResourcesComeBack() throws Exception {
        boolean full = HostileScale.current().name().equals("full");
        long fdLimit = SlowClientsTest.fdLimit();
        int sources = (int) Math.min(full ? 512 : 96, (fdLimit - 400) / (2L * PER_SOURCE));
        int maxRetry = 3;
        byte[] hello = ClientHellos.capture();
        try (HostileServer server = new HostileServer(dir, JailConfig.builder().maxRetry(maxRetry).build(), b -> b
                .handshakeTimeout(TIMEOUT).idleThreadTimeout(Duration.ofSeconds(2)).handshakeThreads(8));
             StalledFlood flood = new StalledFlood(hello)) {
            // the partner's first handshake: from now on it is a known partner
            server.legitimateHandshake(HostileServer.LEGIT_SOURCE, 20_000);
            Resources base = awaitResources(null, Duration.ofSeconds(10));

            List<Long> partnerMillis = new ArrayList<>();
            List<String> partnerErrors = new ArrayList<>();
            Resources peak = base;
            long nextPartner = System.nanoTime();
            int opened = 0;
            for (int wave = 0; wave < WAVES; wave++) {
                for (int s = 0; s < sources; s++) {
                    InetAddress source = Sources.of(80 + wave * 4, s);
                    for (int c = 0; c < PER_SOURCE; c++) {
                        flood.open(source, server.address());
                        opened++;
                    }
                    if (System.nanoTime() - nextPartner >= 0) {
                        nextPartner += 1_000_000_000L;
                        partner(server, partnerMillis, partnerErrors);
                    }
                }
                // the wave stalls for its timeout while the partner keeps connecting once a second
                long waveEnd = System.nanoTime() + TIMEOUT.toNanos() + 1_500_000_000L;
                while (System.nanoTime() - waveEnd < 0) {
                    peak = peak.max(Resources.now());
                    if (System.nanoTime() - nextPartner >= 0) {
                        nextPartner += 1_000_000_000L;
                        partner(server, partnerMillis, partnerErrors);
                    }
                    Thread.sleep(50);
                }
            }
            ListenerStats after = server.awaitQuiet(server.listener.stats().accepted(), Duration.ofSeconds(30));
            assertThat(server.log.flush(Duration.ofSeconds(10))).isTrue();
            Resources end = awaitResources(base, Duration.ofSeconds(30));
            String partnerAddress = HostileServer.LEGIT_SOURCE.getHostAddress();
            List<String> lines;
            try (var l = Files.lines(server.logFile(), StandardCharsets.US_ASCII)) {
                lines = l.toList();
            }
            long partnerLines = lines.stream().filter(x -> x.contains("from " + partnerAddress + " ")
                    || x.contains("from " + partnerAddress + ":")).count();
            int answered = flood.answered();
            long attackingSources = (long) WAVES * sources;
            System.out.printf("hostile: partner under flood: %d waves x %d sources x %d stalled connections (%d in all);"
                    + " %d server flights (at most %d per source); partner %d handshakes, %d failed, max %d ms; Fail2Ban"
                    + " lines %d (partner %d); listener after: %s%n", WAVES, sources, PER_SOURCE, opened, answered,
                    maxRetry, partnerMillis.size(), partnerErrors.size(),
                    partnerMillis.stream().mapToLong(Long::longValue).max().orElse(-1), lines.size(), partnerLines, after);
            System.out.printf("hostile: partner under flood: threads %d -> peak %d -> %d; fds %d -> peak %d -> %d;"
                    + " RSS %d MB -> peak %d MB -> %d MB%n", base.threads, peak.threads, end.threads, base.fds, peak.fds,
                    end.fds, base.rssKb / 1024, peak.rssKb / 1024, end.rssKb / 1024);

            assertThat(partnerErrors).as("partner handshakes that failed").isEmpty();
            assertThat(partnerMillis.size()).as("partner handshakes made").isGreaterThanOrEqualTo(WAVES * 3);
            assertThat(partnerLines).as("partner lines in the Fail2Ban log").isZero();
            assertThat(server.engine.isBanned(HostileServer.LEGIT_SOURCE)).isFalse();
            assertThat((long) answered).as("server flights: at most maxretry per attacking source")
                    .isLessThanOrEqualTo(attackingSources * maxRetry);
            assertThat(end.threads).as("threads back near baseline").isLessThanOrEqualTo(base.threads + 4);
            assertThat(end.fds).as("fds back near baseline").isLessThanOrEqualTo(base.fds + 8);
        }
    }

    private static void partner(HostileServer server, List<Long> millis, List<String> errors) {
        try {
            millis.add(server.legitimateHandshake(HostileServer.LEGIT_SOURCE, 20_000) / 1_000_000);
        } catch (IOException e) {
            errors.add(e.toString());
        }
    }

    /** Threads, open fds and RSS of this JVM (the listener's and the flood clients' together). */
    record Resources(int threads, int fds, long rssKb) {
        static Resources now() throws IOException {
            int fds;
            try (var s = Files.list(Path.of("/proc/self/fd"))) {
                fds = (int) s.count();
            }
            long rss = 0;
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmRSS:")) {
                    rss = Long.parseLong(l.replaceAll("[^0-9]", ""));
                }
            }
            return new Resources(ManagementFactory.getThreadMXBean().getThreadCount(), fds, rss);
        }

        Resources max(Resources o) {
            return new Resources(Math.max(threads, o.threads), Math.max(fds, o.fds), Math.max(rssKb, o.rssKb));
        }
    }

    /** Waits (bounded) until threads and fds are back to {@code base} (or settle, if base is null). */
    private static Resources awaitResources(Resources base, Duration max) throws Exception {
        long deadline = System.nanoTime() + max.toNanos();
        Resources r = Resources.now();
        while (System.nanoTime() < deadline) {
            r = Resources.now();
            if (base != null && r.threads <= base.threads + 4 && r.fds <= base.fds + 8) {
                break;
            }
            Thread.sleep(200);
        }
        System.gc();
        return new Resources(r.threads, r.fds, Resources.now().rssKb);
    }
}
