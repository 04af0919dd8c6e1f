package org.tlsjail.bench.memory;

import java.io.IOException;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.lang.ref.Reference;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Properties;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.EngineStats;
import org.tlsjail.banengine.FailureOutcome;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.bench.SyntheticAddresses;

/**
 * Address spray: {@code sources} distinct IPv4 sources fail once each against an engine capped
 * at {@code max-tracked}; measures the heap the engine retains per tracked key (after full GCs)
 * and checks that the cap holds and that bans made before the spray are still enforced.
 *
 * <p>Runs in a JVM of its own so nothing else moves the heap:
 * {@code SprayMemory <sources> <max-tracked> <out.properties>}. The clock is fixed, so nothing
 * expires during the spray: every history stays until the cap evicts it.
 */
public final class SprayMemory {
    /** Sources banned before the spray; they must all still be banned after it. */
    static final int ATTACKERS = 1000;
    private static final int ATTACKER_BASE = 0xC612_0000; // 198.18.0.0, apart from the spray range
    private static final int SPRAY_BASE = 0x0100_0000; // 1.0.0.0 upwards

    private SprayMemory() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 3) {
            System.err.println("usage: SprayMemory <sources> <max-tracked> <out.properties>");
            System.exit(2);
        }
        int sources = Integer.parseInt(args[0]);
        int cap = Integer.parseInt(args[1]);
        Path out = Path.of(args[2]);

        JailConfig config = JailConfig.defaults().toBuilder().maxTrackedKeys(cap).build();
        BanEngine engine = new BanEngine(config, InstantSource.fixed(Instant.parse("2026-01-01T00:00:00Z")));
        for (int a = 0; a < ATTACKERS; a++) {
            InetAddress src = SyntheticAddresses.v4(ATTACKER_BASE + a);
            FailureOutcome last = null;
            for (int f = 0; f < config.maxRetry(); f++) {
                last = engine.recordFailure(src);
            }
            if (last != FailureOutcome.BANNED) {
                throw new IllegalStateException("attacker " + src + " not banned after maxretry failures: " + last);
            }
        }

        HeapProbe heap = new HeapProbe();
        long heapBefore = heap.settledUsed();
        ClassHistogram before = ClassHistogram.take();

        long t0 = System.nanoTime();
        for (int i = 0; i < sources; i++) {
            engine.recordFailure(SyntheticAddresses.v4(SPRAY_BASE + i));
        }
        long sprayNanos = System.nanoTime() - t0;
        engine.expireDue(); // lets the failure tracker finish pending evictions

        long heapAfter = heap.settledUsed();
        ClassHistogram after = ClassHistogram.take();
        EngineStats stats = engine.stats();
        int stillBanned = 0;
        for (int a = 0; a < ATTACKERS; a++) {
            if (engine.isBanned(SyntheticAddresses.v4(ATTACKER_BASE + a))) {
                stillBanned++;
            }
        }

        Properties p = new Properties();
        p.setProperty("sources", Integer.toString(sources));
        p.setProperty("maxTracked", Integer.toString(cap));
        p.setProperty("trackedKeys", Long.toString(stats.trackedKeys()));
        p.setProperty("evictions", Long.toString(stats.evictions()));
        p.setProperty("attackers", Integer.toString(ATTACKERS));
        p.setProperty("attackersStillBanned", Integer.toString(stillBanned));
        p.setProperty("activeBans", Integer.toString(stats.activeBans()));
        p.setProperty("heapBefore", Long.toString(heapBefore));
        p.setProperty("heapAfter", Long.toString(heapAfter));
        p.setProperty("bytesPerTrackedKey", String.format(java.util.Locale.ROOT, "%.1f",
                (heapAfter - heapBefore) / (double) Math.max(1, stats.trackedKeys())));
        p.setProperty("sprayFailuresPerSecond", Long.toString(sources * 1_000_000_000L / Math.max(1, sprayNanos)));
        p.setProperty("maxHeap", Long.toString(Runtime.getRuntime().maxMemory()));
        p.setProperty("gc", String.join("+", ManagementFactory.getGarbageCollectorMXBeans().stream()
                .map(b -> b.getName()).toList()));
        p.setProperty("histogram", after.minus(before).describe(Math.max(1, stats.trackedKeys()), 12));
        try (Writer w = Files.newBufferedWriter(out)) {
            p.store(w, "tlsjail spray memory");
        }
        System.out.printf("spray %,d sources, cap %,d: %,d tracked, %s B/key, %d/%d attackers still banned%n",
                sources, cap, stats.trackedKeys(), p.getProperty("bytesPerTrackedKey"), stillBanned, ATTACKERS);
        Reference.reachabilityFence(engine);
    }
}
