package org.tlsjail.banengine;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.ThreadParams;

/**
 * Failure tracking alone, the new primitive table ({@code table}) against the Caffeine tracker
 * it replaced ({@code caffeine}, {@link CaffeineFailureTracker}) in the same run: every call is
 * a failure of a never-seen IPv4 source (an address spray), the default cap of 1,000,000, which
 * the warm-up fills, so most calls also evict. Lives in the engine's package because the
 * trackers are package-private.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class FailureTableBenchmark {
    @Param({"table", "caffeine"})
    public String tracker;

    private final JailConfig config = JailConfig.defaults();
    private FailureTracker table;
    private CaffeineFailureTracker caffeine;
    private final long now = System.currentTimeMillis();

    @State(Scope.Thread)
    public static class Sources {
        int next;

        @Setup(Level.Trial)
        public void setUp(ThreadParams p) {
            next = p.getThreadIndex() << 30;
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        table = new FailureTracker(config, now, 42);
        caffeine = new CaffeineFailureTracker(config, now);
    }

    private boolean add(Sources s) {
        SourceKey key = SourceKey.ofIpv4(s.next++, 32);
        return tracker.equals("table") ? table.add(key, 1, now, config) : caffeine.add(key, 1, now, config);
    }

    @Benchmark
    @Threads(1)
    public boolean spray1Thread(Sources s) {
        return add(s);
    }

    @Benchmark
    @Threads(2)
    public boolean spray2Threads(Sources s) {
        return add(s);
    }
}
