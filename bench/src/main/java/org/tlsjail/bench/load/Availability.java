package org.tlsjail.bench.load;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.tlsjail.bench.report.RatioRow;
import org.tlsjail.bench.report.ReportPart;

/**
 * (b) Availability under attack: a legitimate partner (valid client certificate, one paced
 * thread) measures full-handshake latency against tlsjail's listener idle, during the refusal
 * flood of (a), and during a flood of failing handshakes from ever new sources (which the engine
 * cannot refuse early: each source fails only once).
 */
public final class Availability implements ReportPart {
    static final double P99_TARGET = 1.5;

    /** One phase's figures; {@code attackRate} is the attack's connections (or handshakes) per second. */
    public record Phase(String name, int samples, double p50, double p99, double attackRate, String attackUnit) {
    }

    private final BenchPki pki;
    private final java.nio.file.Path work;
    private final double phaseSeconds;
    private final int floodThreads;
    private final double warmupSeconds;
    private final List<Phase> phases = new ArrayList<>();

    public Availability(BenchPki pki, java.nio.file.Path work, double phaseSeconds, int floodThreads, double warmupSeconds) {
        this.warmupSeconds = warmupSeconds;
        this.pki = pki;
        this.work = work;
        this.phaseSeconds = phaseSeconds;
        this.floodThreads = floodThreads;
    }

    public Availability run() throws Exception {
        try (ServerProcess jail = ServerProcess.java("tlsjail", pki, "-Dbench.banned=1:" + RefusalCost.BANNED_SOURCES,
                "-Dbench.f2blog=" + work.resolve("availability-fail2ban.log").toAbsolutePath())) {
            InetSocketAddress target = new InetSocketAddress("127.0.0.1", jail.port());
            HandshakeClient legit = new HandshakeClient(pki, true, target);
            try (HandshakeLoad probe = new HandshakeLoad(legit, new LoopbackSources(0, 1), 1, 10).start()) {
                // warm-up: JIT both sides, with both kinds of attack traffic so their code paths are warm too
                try (ConnectFlood f = new ConnectFlood(target, new LoopbackSources(1, RefusalCost.BANNED_SOURCES), 1).start();
                     HandshakeLoad h = new HandshakeLoad(new HandshakeClient(pki, false, target), new LoopbackSources(4, 1 << 16), 1, 0).start()) {
                    Thread.sleep((long) (warmupSeconds * 1000));
                }
                Thread.sleep(500);
                probe.reset();
                Thread.sleep((long) (phaseSeconds * 1000));
                phases.add(phase("idle", probe, 0, ""));

                try (ConnectFlood flood = new ConnectFlood(target, new LoopbackSources(1, RefusalCost.BANNED_SOURCES), floodThreads).start()) {
                    Thread.sleep(300);
                    probe.reset();
                    long c0 = flood.connections();
                    long t0 = System.nanoTime();
                    Thread.sleep((long) (phaseSeconds * 1000));
                    double rate = (flood.connections() - c0) / ((System.nanoTime() - t0) / 1e9);
                    phases.add(phase("during (a): connect flood from banned sources", probe, rate, "refused conn/s"));
                }
                HandshakeClient scanner = new HandshakeClient(pki, false, target);
                try (HandshakeLoad flood = new HandshakeLoad(scanner, new LoopbackSources(2, 1 << 17), floodThreads, 0).start()) {
                    Thread.sleep(300);
                    probe.reset();
                    flood.reset();
                    long t0 = System.nanoTime();
                    Thread.sleep((long) (phaseSeconds * 1000));
                    double rate = (flood.failedAfterCertificate() + flood.refused() + flood.completed())
                            / ((System.nanoTime() - t0) / 1e9);
                    phases.add(phase("during a flood of failing handshakes from fresh sources", probe, rate, "failed handshakes/s"));
                }
            }
        }
        return this;
    }

    private static Phase phase(String name, HandshakeLoad probe, double attackRate, String unit) {
        Latencies l = probe.latencies();
        return new Phase(name, l.count(), l.percentileMillis(50), l.percentileMillis(99), attackRate, unit);
    }

    @Override
    public List<RatioRow> ratios() {
        if (phases.size() < 3) {
            return List.of();
        }
        Phase idle = phases.get(0);
        Phase refusal = phases.get(1);
        Phase failing = phases.get(2);
        double r1 = refusal.p99() / idle.p99();
        double r2 = failing.p99() / idle.p99();
        return List.of(
                new RatioRow("(b) Legitimate mTLS handshake p99 during (a) vs idle",
                        String.format(Locale.ROOT, "%.2fx (%.1f vs %.1f ms)", r1, refusal.p99(), idle.p99()), "<= 1.5x", r1 <= P99_TARGET),
                new RatioRow("(b) Legitimate mTLS handshake p99 during a failing-handshake flood vs idle",
                        String.format(Locale.ROOT, "%.2fx (%.1f vs %.1f ms)", r2, failing.p99(), idle.p99()), null, null));
    }

    @Override
    public String details() {
        StringBuilder sb = new StringBuilder("### (b) Availability: legitimate client's full mTLS handshake latency on tlsjail\n\n");
        sb.append("| Phase | Handshakes sampled | p50 ms | p99 ms | Attack rate |\n|---|---|---|---|---|\n");
        for (Phase p : phases) {
            sb.append(String.format(Locale.ROOT, "| %s | %d | %.1f | %.1f | %s |%n", p.name(), p.samples(), p.p50(), p.p99(),
                    p.attackUnit().isEmpty() ? "-" : String.format(Locale.ROOT, "%,.0f %s", p.attackRate(), p.attackUnit())));
        }
        sb.append(String.format(Locale.ROOT, "%nThe legitimate client (127.0.0.1, SunJSSE, RSA 2048 client certificate, no resumption) "
                + "makes one handshake at a time with 10 ms pauses; latency is connect to first reply byte. Attack traffic: "
                + "%d threads, in the same JVM as the probe, on the same %d cores as the server. %.0f s per phase after %.0f s of warm-up.%n",
                floodThreads, Runtime.getRuntime().availableProcessors(), phaseSeconds, warmupSeconds));
        return sb.toString();
    }
}
