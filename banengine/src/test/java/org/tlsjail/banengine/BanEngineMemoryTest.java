package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * An address spray must not grow memory without bound: the failure table stays under its cap
 * and under the per-key budget, and bans survive the spray.
 */
class BanEngineMemoryTest {
    /** The documented budget per tracked key (README, "Memory"). */
    static final long BYTES_PER_KEY_BUDGET = 48;

    @Test
    void millionDistinctSourcesStayUnderThePerKeyBudget() {
        ManualClock clock = new ManualClock();
        long before = usedHeapAfterGc();
        BanEngine engine = new BanEngine(JailConfig.defaults(), clock);
        for (int i = 0; i < 1_000_000; i++) {
            engine.recordFailure(Ips.v4(i));
        }
        engine.expireDue();
        long after = usedHeapAfterGc();
        long tracked = engine.stats().trackedKeys();
        long perKey = (after - before) / Math.max(1, tracked);
        System.out.printf("memory: %d tracked keys, %d bytes retained, %d bytes per key%n", tracked, after - before, perKey);
        assertThat(tracked).isGreaterThan(900_000);
        assertThat(perKey).isLessThanOrEqualTo(BYTES_PER_KEY_BUDGET);
        assertThat(engine.isBanned(Ips.v4(1))).isFalse(); // keep the engine reachable until here
    }

    @Test
    void threeMillionSourcesWithAMillionCapStayCappedAndBansSurvive() {
        ManualClock clock = new ManualClock();
        BanEngine engine = new BanEngine(JailConfig.builder().maxRetry(2).build(), clock);
        for (int i = 0; i < 1000; i++) {
            engine.recordFailure(Ips.ip("192.0.2." + (i % 250)));
        }
        engine.ban(Ips.ip("198.51.100.1"), Duration.ofDays(1), null);
        int bansBefore = engine.stats().activeBans();
        for (int i = 0; i < 3_000_000; i++) {
            engine.recordFailure(Ips.v4(i));
        }
        engine.expireDue();
        EngineStats s = engine.stats();
        System.out.printf("spray: tracked %d, evictions %d, bans %d%n", s.trackedKeys(), s.evictions(), s.activeBans());
        assertThat(s.trackedKeys()).isLessThanOrEqualTo(1_000_000);
        assertThat(s.evictions()).isGreaterThanOrEqualTo(2_000_000);
        assertThat(s.activeBans()).isEqualTo(bansBefore);
        assertThat(engine.isBanned(Ips.ip("192.0.2.7"))).isTrue();
        assertThat(engine.isBanned(Ips.ip("198.51.100.1"))).isTrue();
    }

    static long usedHeapAfterGc() {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            used = Math.min(used, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return used;
    }
}
