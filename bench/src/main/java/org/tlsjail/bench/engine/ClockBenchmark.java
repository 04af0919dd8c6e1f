package org.tlsjail.bench.engine;

import java.time.InstantSource;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * What one read of the system clock costs here: {@code isBanned} reads it on a hit (to compare
 * with the ban's end), {@code ConcurrentHashMap.get} does not, so it explains most of the gap.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ClockBenchmark {
    private final InstantSource clock = InstantSource.system();

    @Benchmark
    public long systemClockMillis() {
        return clock.millis();
    }
}
