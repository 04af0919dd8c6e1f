package org.tlsjail.bench.engine;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.InstantSource;
import java.util.SplittableRandom;
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
import org.openjdk.jmh.annotations.TearDown;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.bench.SyntheticAddresses;

/**
 * {@code BanEngine.isBanned} against the simplest thing a listener could do instead: a
 * {@code ConcurrentHashMap<InetAddress, Long>} of ban ends, probed with the very same
 * {@link InetAddress} objects. Both hold {@code bans} bans; a probe cycles through a pre-built
 * array of addresses, so the benchmark itself allocates nothing:
 * <ul>
 * <li>{@code fresh}: {@value #FRESH} distinct addresses, each seen again only after all the
 * others (for IPv6 far more than the engine remembers, so every call is a new address: a
 * sprayer). IPv6 hits are distinct addresses inside the banned /64s (the map holds each of them
 * too); IPv4 hits cycle through the banned addresses.</li>
 * <li>{@code repeated}: {@value #REPEATED} distinct objects that all equal one address (one
 * banned for hits, one clean for misses): one source connecting again and again, a new
 * {@code InetAddress} per connection as the JDK's accept makes.</li>
 * </ul>
 * The engine's sweeper runs, as in the daemon, so a hit compares with its coarse clock instead
 * of reading the system clock.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class IsBannedBenchmark {
    static final int FRESH = 16384;
    static final int REPEATED = 256;

    @Param({"1000", "100000"})
    public int bans;

    @Param({"v4", "v6"})
    public String family;

    @Param({"fresh", "repeated"})
    public String source;

    /**
     * How the engine reads an IPv6 source: {@code in-place} (the JVM opens java.net, as the launcher
     * runs the daemon) or {@code memo} (run with {@code -Dtlsjail.inet6.in-place=false}, as an
     * embedding application without the flag gets). A label the set-up checks against the engine.
     */
    @Param({"in-place"})
    public String inet6;

    private BanEngine engine;
    private AutoCloseable sweeper;
    private ConcurrentHashMap<InetAddress, Long> map;
    private InetAddress[] banned;
    private InetAddress[] clean;
    private int mask;

    @State(Scope.Thread)
    public static class Cursor {
        int i;
    }

    @Setup(Level.Trial)
    public void setUp() {
        boolean v4 = family.equals("v4");
        if (inet6.equals("in-place") != BanEngine.readsIpv6InPlace()) {
            throw new IllegalStateException("inet6=" + inet6 + " but the engine " + (BanEngine.readsIpv6InPlace()
                    ? "reads in place" : "uses the memo: " + BanEngine.whyIpv6NotReadInPlace()));
        }
        engine = new BanEngine(JailConfig.builder().maxBans(Math.max(bans, 100_000)).build(), InstantSource.system());
        sweeper = engine.startSweeper(); // as the daemon runs it: isBanned reads the sweeper's coarse clock
        map = new ConcurrentHashMap<>();
        int[] bits = SyntheticAddresses.distinctRandom(bans + FRESH, 42);
        InetAddress[] all = new InetAddress[bits.length];
        for (int i = 0; i < bits.length; i++) {
            // v6: one address per distinct /64, so every ban is its own engine key
            all[i] = v4 ? SyntheticAddresses.v4(bits[i]) : SyntheticAddresses.v6(bits[i], 0x1234L * i + 1);
        }
        long until = System.currentTimeMillis() + Duration.ofHours(10).toMillis();
        for (int i = 0; i < bans; i++) {
            engine.ban(all[i], Duration.ofHours(10), "bench");
            map.put(all[i], until);
        }
        int n = source.equals("fresh") ? FRESH : REPEATED;
        mask = n - 1;
        banned = new InetAddress[n];
        clean = new InetAddress[n];
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < n; i++) {
            if (source.equals("repeated")) {
                banned[i] = copy(all[0]);
                clean[i] = copy(all[bans]);
            } else if (v4) {
                banned[i] = all[(int) ((long) i * bans / n)];
                clean[i] = all[bans + i];
            } else {
                // a sprayer inside the banned /64s: each probe its own interface identifier
                banned[i] = SyntheticAddresses.v6(bits[i % bans], r.nextLong() | 1L << 63);
                clean[i] = all[bans + i];
            }
        }
        if (!v4 && source.equals("fresh")) {
            // after all the addresses exist, so the map's nodes do not sit next to the addresses they hold
            for (InetAddress a : banned) {
                map.put(a, until);
            }
        }
        for (int i = 0; i < n; i++) {
            if (!engine.isBanned(banned[i]) || engine.isBanned(clean[i])
                    || map.get(banned[i]) == null || map.get(clean[i]) != null) {
                throw new IllegalStateException("benchmark set-up is wrong at probe " + i);
            }
        }
    }

    private static InetAddress copy(InetAddress a) {
        try {
            return InetAddress.getByAddress(a.getAddress());
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        sweeper.close();
    }

    @Benchmark
    public boolean engineMiss(Cursor c) {
        return engine.isBanned(clean[c.i++ & mask]);
    }

    @Benchmark
    public boolean engineHit(Cursor c) {
        return engine.isBanned(banned[c.i++ & mask]);
    }

    @Benchmark
    public Long mapMiss(Cursor c) {
        return map.get(clean[c.i++ & mask]);
    }

    @Benchmark
    public Long mapHit(Cursor c) {
        return map.get(banned[c.i++ & mask]);
    }
}
