package org.tlsjail.bench.engine;

import java.net.InetAddress;
import java.time.InstantSource;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.ThreadParams;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.FailureOutcome;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.bench.SyntheticAddresses;

/**
 * {@code recordFailure} under an address spray: every call is a source never seen before, the
 * case that costs the engine most (a new history, and eviction once max-tracked is full, which
 * the warm-up reaches). {@link #addressOnly} is what building the {@link InetAddress} alone
 * costs, so it can be subtracted.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class RecordFailureBenchmark {
    private BanEngine engine;

    /** Each thread walks its own quarter of the IPv4 space, so threads never share a source. */
    @State(Scope.Thread)
    public static class Sources {
        int next;

        @Setup(Level.Trial)
        public void setUp(ThreadParams p) {
            next = p.getThreadIndex() << 30;
        }

        InetAddress next() {
            return SyntheticAddresses.v4(next++);
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        engine = new BanEngine(JailConfig.defaults(), InstantSource.system());
    }

    @Benchmark
    @Threads(1)
    public FailureOutcome spray1Thread(Sources s) {
        return engine.recordFailure(s.next());
    }

    @Benchmark
    @Threads(2)
    public FailureOutcome spray2Threads(Sources s) {
        return engine.recordFailure(s.next());
    }

    @Benchmark
    @Threads(1)
    public InetAddress addressOnly(Sources s) {
        return s.next();
    }
}
