package org.tlsjail.bench.engine;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/** Runs the engine's JMH benchmarks (with the GC profiler) and returns one row per benchmark. */
public final class EngineBenchmarks {
    /** One JMH result: {@code allocPerOp} is gc.alloc.rate.norm in bytes, NaN if not measured. */
    public record Figure(String benchmark, Map<String, String> params, int threads, double score,
                         double error, String unit, double allocPerOp) {
        public String param(String name) {
            return params.getOrDefault(name, "");
        }
    }

    private final boolean smoke;

    public EngineBenchmarks(boolean smoke) {
        this.smoke = smoke;
    }

    public List<Figure> run() throws RunnerException {
        List<RunResult> results = new ArrayList<>();
        // IPv4: two forks, both table sizes; an IPv4 address carries no per-address state, so only fresh probes
        results.addAll(new Runner(options("IsBannedBenchmark", smoke ? 0 : 2)
                .param("family", "v4").param("source", "fresh")
                .param("bans", smoke ? new String[] {"1000"} : new String[] {"1000", "100000"})
                .build()).run());
        // IPv6: one size, one fork; a repeating source and a sprayer (fresh addresses), first as the
        // launcher runs the daemon (bits read in place), then without its --add-opens (the memo)
        results.addAll(new Runner(options("IsBannedBenchmark", smoke ? 0 : 1).param("family", "v6").param("bans", "1000")
                .param("source", "repeated", "fresh").build()).run());
        if (!smoke) { // forked: the property must reach the engine's JVM before its first IPv6 check
            results.addAll(new Runner(options("IsBannedBenchmark", 1, "-Dtlsjail.inet6.in-place=false")
                    .param("family", "v6").param("bans", "1000").param("source", "repeated", "fresh")
                    .param("inet6", "memo").build()).run());
        }
        results.addAll(new Runner(options("(Clock|RecordFailure)Benchmark", smoke ? 0 : 1).build()).run());
        results.addAll(new Runner(new OptionsBuilder()
                .include("org\\.tlsjail\\.banengine\\.FailureTableBenchmark\\.")
                .addProfiler(GCProfiler.class).forks(smoke ? 0 : 1).jvmArgsAppend("-Xmx2g").shouldFailOnError(true)
                .warmupIterations(smoke ? 1 : 3).warmupTime(TimeValue.seconds(smoke ? 1 : 2))
                .measurementIterations(smoke ? 1 : 5).measurementTime(TimeValue.seconds(1)).build()).run());
        // fsync-bound: fewer, longer iterations would not say more
        results.addAll(new Runner(options("JournalBenchmark", smoke ? 0 : 1).build()).run());
        results.addAll(new Runner(new OptionsBuilder()
                .include("org\\.tlsjail\\.bench\\.engine\\.JournalReplayBenchmark\\.")
                .addProfiler(GCProfiler.class).forks(smoke ? 0 : 1).jvmArgsAppend("-Xmx1g")
                .param("records", smoke ? "20000" : "1000000")
                .warmupIterations(smoke ? 0 : 1).measurementIterations(smoke ? 1 : 3)
                .shouldFailOnError(true).build()).run());
        return figures(results);
    }

    /** As the launcher runs the daemon: -Xmx and java.net opened to the engine (IPv6 bits read in place). */
    private ChainedOptionsBuilder options(String classes, int forks, String... moreJvmArgs) {
        List<String> jvm = new ArrayList<>(List.of("-Xmx2g", "--add-opens=java.base/java.net=ALL-UNNAMED"));
        jvm.addAll(List.of(moreJvmArgs));
        ChainedOptionsBuilder o = new OptionsBuilder()
                .include("org\\.tlsjail\\.bench\\.engine\\." + classes + "\\.")
                .addProfiler(GCProfiler.class)
                .forks(forks)
                .jvmArgsAppend(jvm.toArray(String[]::new))
                .shouldFailOnError(true);
        if (smoke) {
            o.warmupIterations(1).warmupTime(TimeValue.milliseconds(100))
                    .measurementIterations(1).measurementTime(TimeValue.milliseconds(100));
        } else {
            o.warmupIterations(3).warmupTime(TimeValue.seconds(1))
                    .measurementIterations(5).measurementTime(TimeValue.seconds(1));
        }
        return o;
    }

    private static List<Figure> figures(Collection<RunResult> results) {
        List<Figure> out = new ArrayList<>();
        for (RunResult r : results) {
            Result<?> primary = r.getPrimaryResult();
            double alloc = Double.NaN;
            for (Map.Entry<String, Result> e : r.getSecondaryResults().entrySet()) {
                if (e.getKey().endsWith("gc.alloc.rate.norm")) {
                    alloc = e.getValue().getScore();
                }
            }
            String name = r.getParams().getBenchmark();
            Map<String, String> params = new java.util.TreeMap<>();
            for (String k : r.getParams().getParamsKeys()) {
                params.put(k, r.getParams().getParam(k));
            }
            out.add(new Figure(name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1), params,
                    r.getParams().getThreads(), primary.getScore(), primary.getScoreError(), primary.getScoreUnit(),
                    alloc));
        }
        return out;
    }
}
