package org.tlsjail.bench.engine;

import java.net.InetAddress;
import java.time.Duration;
import java.time.InstantSource;
import java.util.concurrent.ConcurrentHashMap;
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
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.bench.SyntheticAddresses;

/**
 * {@code BanEngine.isBanned} against the simplest thing a listener could do instead: a
 * {@code ConcurrentHashMap<InetAddress, Long>} of ban ends, probed with the very same
 * {@link InetAddress} objects. Both tables hold {@code bans} entries; a probe cycles through
 * {@value #PROBES} banned (hit) or never-banned (miss) addresses. The engine's sweeper runs, as
 * in the daemon, so a hit compares with its coarse clock instead of reading the system clock.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class IsBannedBenchmark {
    static final int PROBES = 4096;

    @Param({"1000", "100000"})
    public int bans;

    @Param({"v4", "v6"})
    public String family;

    private BanEngine engine;
    private AutoCloseable sweeper;
    private ConcurrentHashMap<InetAddress, Long> map;
    private InetAddress[] banned;
    private InetAddress[] clean;

    @State(Scope.Thread)
    public static class Cursor {
        int i;

        int next() {
            return i++ & (PROBES - 1);
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        engine = new BanEngine(JailConfig.builder().maxBans(Math.max(bans, 100_000)).build(), InstantSource.system());
        sweeper = engine.startSweeper(); // as the daemon runs it: isBanned reads the sweeper's coarse clock
        map = new ConcurrentHashMap<>();
        int[] bits = SyntheticAddresses.distinctRandom(bans + PROBES, 42);
        InetAddress[] all = new InetAddress[bits.length];
        for (int i = 0; i < bits.length; i++) {
            // v6: one address per distinct /64, so every ban is its own engine key
            all[i] = family.equals("v4") ? SyntheticAddresses.v4(bits[i]) : SyntheticAddresses.v6(bits[i], 0x1234L * i + 1);
        }
        long until = System.currentTimeMillis() + Duration.ofHours(10).toMillis();
        for (int i = 0; i < bans; i++) {
            engine.ban(all[i], Duration.ofHours(10), "bench");
            map.put(all[i], until);
        }
        banned = new InetAddress[PROBES];
        clean = new InetAddress[PROBES];
        for (int i = 0; i < PROBES; i++) {
            banned[i] = all[(int) ((long) i * bans / PROBES)];
            clean[i] = all[bans + i];
        }
        for (int i = 0; i < PROBES; i++) {
            if (!engine.isBanned(banned[i]) || engine.isBanned(clean[i])) {
                throw new IllegalStateException("benchmark set-up is wrong at probe " + i);
            }
        }
    }

    @org.openjdk.jmh.annotations.TearDown(Level.Trial)
    public void tearDown() throws Exception {
        sweeper.close();
    }

    @Benchmark
    public boolean engineMiss(Cursor c) {
        return engine.isBanned(clean[c.next()]);
    }

    @Benchmark
    public boolean engineHit(Cursor c) {
        return engine.isBanned(banned[c.next()]);
    }

    @Benchmark
    public Long mapMiss(Cursor c) {
        return map.get(clean[c.next()]);
    }

    @Benchmark
    public Long mapHit(Cursor c) {
        return map.get(banned[c.next()]);
    }
}
