package org.tlsjail.bench.load;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.tlsjail.bench.report.RatioRow;
import org.tlsjail.bench.report.ReportPart;
import org.tlsjail.testing.ClientHellos;
import org.tlsjail.testing.StalledFlood;

/**
 * (e) Flood resilience (issue 10): the stalled-ClientHello flood from many IPv4 sources, each
 * opening several connections at once, against tlsjail run with the launcher's daemon JVM flags,
 * while a partner (valid certificate, paced) keeps handshaking. Reports the partner's handshake
 * p50/p99 during the flood against idle (same run), server flights per attacking source (the
 * promise: at most maxretry), the server's RSS per stalled handshake, and its threads and RSS
 * after the flood.
 */
public final class FloodResilience implements ReportPart {
    /** The daemon flags of core/src/main/dist/bin/tlsjail (keep in step), but a short periodic-GC interval. */
    static final List<String> DAEMON_FLAGS = List.of("-Xms32m", "-Xmx512m", "-XX:+UseG1GC",
            "-XX:G1PeriodicGCInterval=5000", "-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=30",
            "--add-opens=java.base/java.net=ALL-UNNAMED");
    static final int MAX_RETRY = 3;
    static final int PER_SOURCE = 8;

    private final BenchPki pki;
    private final Path work;
    private final int sources;
    private final int timeoutSeconds;
    private final double idleSeconds;
    private final int settleSeconds;
    private double idleP50;
    private double idleP99;
    private double floodP50;
    private double floodP99;
    private int idleSamples;
    private int floodSamples;
    private long floodFailures;
    private int maxFlights;
    private double meanFlights;
    private long baseRssKb;
    private long peakRssKb;
    private long afterRssKb;
    private int baseThreads;
    private int peakThreads;
    private int afterThreads;
    private int stalled;

    public FloodResilience(BenchPki pki, Path work, int sources, int timeoutSeconds, double idleSeconds, int settleSeconds) {
        this.pki = pki;
        this.work = work;
        this.sources = sources;
        this.timeoutSeconds = timeoutSeconds;
        this.idleSeconds = idleSeconds;
        this.settleSeconds = settleSeconds;
    }

    public FloodResilience run() throws Exception {
        List<String> args = new ArrayList<>(DAEMON_FLAGS);
        args.add("-Dbench.f2blog=" + work.resolve("flood-fail2ban.log").toAbsolutePath());
        args.add("-Dbench.timeoutSeconds=" + timeoutSeconds);
        args.add("-Dbench.idleThreadSeconds=" + Math.max(1, settleSeconds / 3));
        try (ServerProcess jail = ServerProcess.java("tlsjail", pki, args.toArray(String[]::new))) {
            InetSocketAddress target = new InetSocketAddress("127.0.0.1", jail.port());
            HandshakeClient legit = new HandshakeClient(pki, true, target);
            try (HandshakeLoad probe = new HandshakeLoad(legit, new LoopbackSources(0, 1), 1, 100).start()) {
                Thread.sleep((long) (idleSeconds * 1000) + 1000); // warm-up, then the idle phase
                probe.reset();
                Thread.sleep((long) (idleSeconds * 1000));
                Latencies idle = probe.latencies();
                idleP50 = idle.percentileMillis(50);
                idleP99 = idle.percentileMillis(99);
                idleSamples = idle.count();
                baseRssKb = status(jail.pid(), "VmRSS:");
                baseThreads = (int) status(jail.pid(), "Threads:");
                peakRssKb = baseRssKb;
                peakThreads = baseThreads;

                LoopbackSources attackers = new LoopbackSources(20, sources);
                try (StalledFlood flood = new StalledFlood(ClientHellos.jdk())) {
                    probe.reset();
                    long failedBefore = probe.failedAfterCertificate() + probe.refused();
                    for (int s = 0; s < sources; s++) {
                        for (int c = 0; c < PER_SOURCE; c++) {
                            flood.open(attackers.get(s), target);
                            stalled++;
                        }
                        sample(jail.pid());
                    }
                    long end = System.nanoTime() + (timeoutSeconds + 2) * 1_000_000_000L;
                    while (System.nanoTime() < end) {
                        sample(jail.pid());
                        Thread.sleep(100);
                    }
                    Latencies during = probe.latencies();
                    floodP50 = during.percentileMillis(50);
                    floodP99 = during.percentileMillis(99);
                    floodSamples = during.count();
                    floodFailures = probe.failedAfterCertificate() + probe.refused() - failedBefore;
                    long sum = 0;
                    for (int s = 0; s < sources; s++) {
                        maxFlights = Math.max(maxFlights, flood.flights(attackers.get(s)));
                        sum += flood.flights(attackers.get(s));
                    }
                    meanFlights = sum / (double) sources;
                }
            }
            // after the flood: idle threads end, periodic G1 collections give memory back
            long end = System.nanoTime() + settleSeconds * 1_000_000_000L;
            while (System.nanoTime() < end) {
                Thread.sleep(500);
            }
            afterRssKb = status(jail.pid(), "VmRSS:");
            afterThreads = (int) status(jail.pid(), "Threads:");
        }
        return this;
    }

    /** Runs (e) alone: {@code FloodResilience <work-dir> <sources> <timeout-s> <idle-s> <settle-s>}. */
    public static void main(String[] a) throws Exception {
        Path work = Path.of(a[0]);
        Files.createDirectories(work);
        FloodResilience f = new FloodResilience(BenchPki.createIn(work.resolve("pki")), work, Integer.parseInt(a[1]),
                Integer.parseInt(a[2]), Double.parseDouble(a[3]), Integer.parseInt(a[4])).run();
        for (RatioRow r : f.ratios()) {
            System.out.println(r.what() + ": " + r.value() + (r.target() == null ? "" : " (target " + r.target() + ")"));
        }
        System.out.println(f.details());
    }

    private void sample(long pid) throws IOException {
        peakRssKb = Math.max(peakRssKb, status(pid, "VmRSS:"));
        peakThreads = Math.max(peakThreads, (int) status(pid, "Threads:"));
    }

    private static long status(long pid, String field) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (l.startsWith(field)) {
                return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    double rssPerStalledKb() {
        return stalled == 0 ? 0 : (peakRssKb - baseRssKb) / (double) stalled;
    }

    @Override
    public List<RatioRow> ratios() {
        double ratio = floodP99 / idleP99;
        return List.of(
                new RatioRow("(e) Partner handshake p99 during the stalled-ClientHello flood vs idle",
                        String.format(Locale.ROOT, "%.2fx (%.1f vs %.1f ms; p50 %.1f vs %.1f ms)", ratio, floodP99, idleP99,
                                floodP50, idleP50), null, null),
                new RatioRow("(e) Partner handshakes failed during the flood", Long.toString(floodFailures), "0",
                        floodFailures == 0),
                new RatioRow("(e) Server flights per attacking IPv4 source (" + PER_SOURCE + " parallel connections)",
                        String.format(Locale.ROOT, "max %d, mean %.2f", maxFlights, meanFlights), "<= maxretry (" + MAX_RETRY + ")",
                        maxFlights <= MAX_RETRY),
                new RatioRow("(e) Server RSS per stalled handshake", String.format(Locale.ROOT, "%.0f kB", rssPerStalledKb()),
                        null, null),
                new RatioRow("(e) Server RSS after the flood vs before", String.format(Locale.ROOT, "%d MB vs %d MB (peak %d MB)",
                        afterRssKb / 1024, baseRssKb / 1024, peakRssKb / 1024), null, null));
    }

    @Override
    public String details() {
        return String.format(Locale.ROOT, "### (e) Flood resilience: stalled ClientHellos from many sources%n%n"
                        + "| | idle | during the flood |%n|---|---|---|%n"
                        + "| Partner handshakes sampled | %d | %d |%n| Partner p50 ms | %.1f | %.1f |%n| Partner p99 ms | %.1f | %.1f |%n%n"
                        + "| Server | before | peak | %ds after |%n|---|---|---|---|%n| RSS MB | %d | %d | %d |%n| Threads | %d | %d | %d |%n%n"
                        + "Flood: %d IPv4 sources x %d connections (%d in all), each a whole ClientHello (JDK client) and then"
                        + " nothing; handshake timeout %d s; maxretry %d. Server flights per source: max %d, mean %.2f."
                        + " RSS per stalled handshake = (peak - before) / %d. The server runs with the launcher's daemon flags"
                        + " (%s; the launcher's periodic-GC interval is 30 s, here 5 s to keep the run short) and"
                        + " idle handshake threads ending after %d s. The partner (127.0.0.1, one thread, 100 ms pauses,"
                        + " valid certificate) measures connect to first reply byte. IPv6 /64 flights: the next part.%n",
                idleSamples, floodSamples, idleP50, floodP50, idleP99, floodP99, settleSeconds, baseRssKb / 1024,
                peakRssKb / 1024, afterRssKb / 1024, baseThreads, peakThreads, afterThreads, sources, PER_SOURCE, stalled,
                timeoutSeconds, MAX_RETRY, maxFlights, meanFlights, stalled, String.join(" ", DAEMON_FLAGS),
                Math.max(1, settleSeconds / 3));
    }
}
