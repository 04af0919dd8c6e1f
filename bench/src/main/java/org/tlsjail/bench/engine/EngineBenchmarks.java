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
        ChainedOptionsBuilder o = new OptionsBuilder()
                .include("org\\.tlsjail\\.bench\\.engine\\.(IsBanned|RecordFailure|Clock)Benchmark\\.")
                .addProfiler(GCProfiler.class)
                .forks(1)
                .jvmArgsAppend("-Xmx2g")
                .shouldFailOnError(true);
        if (smoke) {
            o.warmupIterations(1).warmupTime(TimeValue.milliseconds(200))
                    .measurementIterations(1).measurementTime(TimeValue.milliseconds(200))
                    .param("bans", "1000");
        } else {
            o.warmupIterations(3).warmupTime(TimeValue.seconds(1))
                    .measurementIterations(5).measurementTime(TimeValue.seconds(1));
        }
        Collection<RunResult> results = new Runner(o.build()).run();
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
