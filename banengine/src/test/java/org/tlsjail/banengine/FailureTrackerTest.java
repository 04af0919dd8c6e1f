package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class FailureTrackerTest {
    private static final long T0 = 1_764_480_000_000L;

    private static SourceKey v4(int n) {
        return SourceKey.ofIpv4(0x0A00_0000 + n, 32);
    }

    @Test
    void capIsExactUnderASprayOfTenTimesTheCap() {
        JailConfig config = JailConfig.builder().maxTrackedKeys(10_000).build();
        FailureTracker t = new FailureTracker(config, T0, 1);
        long max = 0;
        for (int i = 0; i < 100_000; i++) {
            t.add(v4(i), 1, T0, config);
            if (i % 97 == 0) {
                max = Math.max(max, t.size());
            }
        }
        assertThat(max).isLessThanOrEqualTo(10_000);
        assertThat(t.size()).isLessThanOrEqualTo(10_000).isGreaterThan(9_000);
        assertThat(t.evictions()).isEqualTo(100_000 - t.size());
        assertThat(t.slots()).isLessThanOrEqualTo((long) (10_000 * 1.25) + 64L * FailureTracker.WAYS);
    }

    /**
     * The attacker's trick: keep failing from one source just below maxretry while pushing its
     * history out with a spray of fresh, one-off sources (10x the cap between two of its failures).
     */
    @Test
    void aSourceFailingEveryMinuteSurvivesASprayOfTenTimesTheCap() {
        int cap = 20_000;
        JailConfig config = JailConfig.builder().maxRetry(12).findTime(Duration.ofMinutes(10)).maxTrackedKeys(cap).build();
        FailureTracker t = new FailureTracker(config, T0, 7);
        SourceKey repeat = SourceKey.ofIpv4(0xC000_0201, 32);
        long now = T0;
        int fresh = 0;
        for (int minute = 0; minute < 11; minute++) {
            boolean banned = t.add(repeat, 1, now, config);
            assertThat(banned).as("minute %d", minute).isEqualTo(false);
            assertThat(t.failures(repeat, now, 600_000)).as("minute %d", minute).isEqualTo(Math.min(minute + 1, 11));
            if (minute >= 1) {
                // between two of its failures: a spray of 10x the cap from never-seen sources
                for (int i = 0; i < 10 * cap; i++) {
                    t.add(v4(fresh++), 1, now + 30_000, config);
                }
                assertThat(t.size()).isLessThanOrEqualTo(cap);
            }
            now += 60_000;
        }
        assertThat(t.evictions()).isGreaterThan(9L * 10 * cap);
        // its 12th failure within ten minutes bans it: nothing of its history was lost
        assertThat(t.failures(repeat, now, 600_000)).isEqualTo(10); // minute 0's failure has left the window
        assertThat(t.add(repeat, 2, now, config)).isTrue();
    }

    @Test
    void longHistoriesKeepEveryTimeInTheWindow() {
        JailConfig config = JailConfig.builder().maxRetry(1000).findTime(Duration.ofSeconds(1000)).build();
        FailureTracker t = new FailureTracker(config, T0, 3);
        SourceKey k = SourceKey.ofIpv6(0x2001_0db8_0000_0001L, 5, 128);
        for (int i = 0; i < 999; i++) {
            assertThat(t.add(k, 1, T0 + i * 1000L, config)).isFalse();
        }
        assertThat(t.failures(k, T0 + 999_000, 1_000_000)).isEqualTo(999);
        // one second later the first failure leaves the window: the 1000th is not yet a ban
        assertThat(t.add(k, 1, T0 + 1_000_001, config)).isFalse();
        assertThat(t.add(k, 1, T0 + 1_000_002, config)).isTrue();
        assertThat(t.failures(k, T0 + 1_000_002, 1_000_000)).isZero();
    }

    @Test
    void sweepDropsStaleTimesSoWrappedTimesStayUnambiguous() {
        JailConfig config = JailConfig.builder().maxRetry(3).findTime(Duration.ofDays(14)).build();
        FailureTracker t = new FailureTracker(config, T0, 5);
        SourceKey k = v4(1);
        long day = 86_400_000L;
        t.add(k, 1, T0, config);
        t.add(k, 1, T0 + 13 * day, config); // the first is still in the window
        t.sweep(T0 + 15 * day, 14 * day); // the first has left it: dropped, the second stays
        assertThat(t.failures(k, T0 + 15 * day, 14 * day)).isEqualTo(1);
        for (long d = 16; d <= 26; d++) {
            t.sweep(T0 + d * day, 14 * day);
        }
        // 26 days after the first failure its wrapped time would read as new again, had it been kept
        assertThat(t.failures(k, T0 + 26 * day, 14 * day)).isEqualTo(1);
        assertThat(t.add(k, 1, T0 + 26 * day, config)).isFalse();
        t.sweep(T0 + 28 * day, 14 * day);
        assertThat(t.size()).isEqualTo(1);
        t.sweep(T0 + 41 * day, 14 * day);
        assertThat(t.size()).isZero();
    }

    @Test
    void reconfiguringTheCapMovesHistoriesAndHoldsTheNewCap() {
        JailConfig big = JailConfig.builder().maxRetry(5).maxTrackedKeys(100_000).build();
        FailureTracker t = new FailureTracker(big, T0, 9);
        for (int i = 0; i < 50_000; i++) {
            t.add(v4(i), i < 100 ? 3 : 1, T0, big);
        }
        JailConfig small = big.toBuilder().maxTrackedKeys(1_000).build();
        t.reconfigure(small);
        assertThat(t.size()).isLessThanOrEqualTo(1_000);
        for (int i = 0; i < 100; i++) {
            assertThat(t.failures(v4(i), T0, 600_000)).as("repeat offender %d kept", i).isEqualTo(3);
        }
        for (int i = 0; i < 10_000; i++) {
            t.add(v4(100_000 + i), 1, T0, small);
        }
        assertThat(t.size()).isLessThanOrEqualTo(1_000);
        t.reconfigure(big);
        assertThat(t.failures(v4(7), T0, 600_000)).isEqualTo(3);
        assertThat(t.add(v4(7), 2, T0, big)).isTrue();
    }

    @Test
    void aCapOfOneTracksOneSource() {
        JailConfig config = JailConfig.builder().maxTrackedKeys(1).maxRetry(2).build();
        FailureTracker t = new FailureTracker(config, T0, 11);
        t.add(v4(1), 1, T0, config);
        t.add(v4(2), 1, T0 + 1, config);
        assertThat(t.size()).isEqualTo(1);
        assertThat(t.failures(v4(2), T0 + 1, 600_000)).isEqualTo(1);
        assertThat(t.add(v4(2), 1, T0 + 2, config)).isTrue();
    }
}
