package org.tlsjail.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.tlsjail.bench.engine.EngineBenchmarks;
import org.tlsjail.bench.engine.EngineReport;
import org.tlsjail.bench.load.Availability;
import org.tlsjail.bench.load.CliLatency;
import org.tlsjail.bench.load.BenchPki;
import org.tlsjail.bench.load.Detection;
import org.tlsjail.bench.load.FloodResilience;
import org.tlsjail.bench.load.HandshakeCost;
import org.tlsjail.bench.load.PrefixFloodFlights;
import org.tlsjail.bench.load.RefusalCost;
import org.tlsjail.bench.memory.SprayReport;
import org.tlsjail.bench.memory.SprayRun;
import org.tlsjail.bench.report.Machine;
import org.tlsjail.bench.report.MarkdownReport;
import org.tlsjail.bench.report.ReportPart;

/**
 * Runs every benchmark in order and writes the Markdown report; bench/run.sh builds the
 * classpath and calls this. {@code --smoke} uses tiny sizes (CI, under a minute).
 *
 * <p>Usage: {@code BenchMain [--smoke] --report <file.md> --work <dir>}
 */
public final class BenchMain {
    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        boolean smoke = false;
        boolean engineOnly = false;
        Path report = Path.of("bench/report.md");
        Path work = Path.of("bench/target/bench-work");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--smoke" -> smoke = true;
                case "--engine-only" -> engineOnly = true;
                case "--report" -> report = Path.of(args[++i]);
                case "--work" -> work = Path.of(args[++i]);
                default -> {
                    System.err.println("unknown argument " + args[i]
                            + "; usage: BenchMain [--smoke] [--engine-only] --report <file.md> --work <dir>");
                    System.exit(2);
                }
            }
        }
        Files.createDirectories(work);
        Instant start = Instant.now();
        String loadBefore = Machine.loadAverage();
        List<ReportPart> parts = new ArrayList<>();
        List<String> notes = new ArrayList<>();

        log("1/3 ban engine JMH benchmarks");
        List<EngineBenchmarks.Figure> jmh = new EngineBenchmarks(smoke).run();
        parts.add(new EngineReport(jmh));

        log("2/3 address spray memory");
        SprayRun spray = new SprayRun(work, smoke ? "512m" : "3g");
        List<SprayRun.Result> sprays = smoke
                ? List.of(spray.run(10_000, 10_000), spray.run(50_000, 10_000))
                : List.of(spray.run(1_000_000, 1_000_000), spray.run(10_000_000, 1_000_000));
        parts.add(new SprayReport(sprays));

        if (engineOnly) {
            notes.add("Engine-only run (`--engine-only`): the ban engine and the address spray, no load harness.");
        }
        log("3/3 load harness (loopback)" + (engineOnly ? ": skipped (--engine-only)" : ""));
        if (!engineOnly) {
            BenchPki pki = BenchPki.createIn(work.resolve("pki"));
            log("  (a) refusal cost");
            parts.add(smoke ? new RefusalCost(pki, work, 0.5, 1, 2).run() : new RefusalCost(pki, work, 4, 2, 4).run());
            log("  (b) availability");
            parts.add(smoke ? new Availability(pki, work, 1, 2, 1).run() : new Availability(pki, work, 6, 4, 10).run());
            log("  (c) detection");
            parts.add(smoke ? new Detection(pki, work, 8, 0, 0.5).run() : new Detection(pki, work, 30, 60, 5).run());
            log("  (d) handshake cost");
            parts.add(smoke ? new HandshakeCost(pki, 0.5, 0.5, 2).run() : new HandshakeCost(pki, 10, 8, 4).run());
            log("  (e) flood resilience");
            parts.add(smoke ? new FloodResilience(pki, work, 16, 2, 1, 4).run()
                    : new FloodResilience(pki, work, 480, 10, 5, 45).run());
            log("  (e) flood resilience: one IPv6 /64, many addresses (network namespace)");
            parts.add(smoke ? new PrefixFloodFlights(work, 2, 16, 4, 2).run(pki)
                    : new PrefixFloodFlights(work, 4, 128, 4, 5).run(pki));
        }

        log("  (e) CLI call latency vs fail2ban-client");
        parts.add(new CliLatency(work, smoke ? 3 : 20).run());

        if (smoke) {
            notes.add("Smoke run: tiny sizes and iterations, the figures only show that the harness works; "
                    + "the Fail2Ban comparison is skipped.");
        }
        String command = "bench/run.sh" + (smoke ? " --smoke" : "") + (engineOnly ? " --engine-only" : "");
        Instant end = Instant.now();
        String md = new MarkdownReport(Machine.current(), command, end, Duration.between(start, end), parts, notes,
                loadBefore, Machine.loadAverage()).render();
        Path parent = report.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Files.writeString(report, md);
        log("report written to " + report);
    }

    private static void log(String what) {
        System.err.println("[bench] " + Instant.now() + " " + what);
    }
}
