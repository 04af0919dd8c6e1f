package org.tlsjail.banengine;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Arrays;
import java.util.concurrent.atomic.LongAdder;

/**
 * Per-source failure history for the strict sliding window, bounded by max-tracked.
 *
 * <p>A source's history is the epoch-millis times of its last {@code maxretry - 1} failures, newest
 * last ({@link Long#MIN_VALUE} where there were fewer): that is all it takes to know whether the
 * next failure makes {@code maxretry} within {@code findtime}. Caffeine bounds the number of
 * sources (W-TinyLFU: under an address spray the newcomers, not the sources failing again and
 * again, are the ones evicted) and forgets a history once its newest failure is out of the window.
 */
final class FailureTracker {
    private final Cache<SourceKey, long[]> histories;
    private final LongAdder evictions = new LongAdder();

    FailureTracker(JailConfig config, InstantSource clock) {
        histories = Caffeine.newBuilder()
                .maximumSize(config.maxTrackedKeys())
                // +1 ms: a failure exactly findtime old still counts (as in Fail2Ban), so its
                // history must still be there at that instant.
                .expireAfterWrite(config.findTime().plusMillis(1))
                .ticker(() -> clock.millis() * 1_000_000L)
                .executor(Runnable::run)
                .evictionListener((SourceKey k, long[] v, RemovalCause cause) -> {
                    if (cause == RemovalCause.SIZE) {
                        evictions.increment();
                    }
                })
                .build();
    }

    /**
     * Adds {@code weight} failures at {@code now}; returns true if that reaches maxretry within
     * findtime, in which case the history is cleared (the ban starts a new count).
     */
    boolean add(SourceKey key, int weight, long now, JailConfig config) {
        boolean[] reached = {false};
        int keep = config.maxRetry() - 1;
        long windowStart = now - config.findTime().toMillis();
        histories.asMap().compute(key, (k, times) -> {
            int needed = config.maxRetry() - weight;
            if (needed <= 0 || countSince(times, windowStart) >= needed) {
                reached[0] = true;
                return null;
            }
            return append(times, keep, weight, now);
        });
        return reached[0];
    }

    void forget(SourceKey key) {
        histories.invalidate(key);
    }

    /** Applies a new findtime / max-tracked without dropping histories. */
    void reconfigure(JailConfig config) {
        histories.policy().eviction().ifPresent(e -> e.setMaximum(config.maxTrackedKeys()));
        histories.policy().expireAfterWrite().ifPresent(e -> e.setExpiresAfter(config.findTime().plusMillis(1)));
    }

    long size() {
        return histories.estimatedSize();
    }

    long evictions() {
        return evictions.sum();
    }

    void cleanUp() {
        histories.cleanUp();
    }

    private static int countSince(long[] times, long windowStart) {
        if (times == null) {
            return 0;
        }
        int n = 0;
        for (long t : times) {
            if (t != Long.MIN_VALUE && t >= windowStart) {
                n++;
            }
        }
        return n;
    }

    /** Newest-last history of length {@code keep} with {@code weight} entries of {@code now} added. */
    private static long[] append(long[] times, int keep, int weight, long now) {
        long[] next = new long[keep];
        Arrays.fill(next, Long.MIN_VALUE);
        int fromNew = Math.min(weight, keep);
        int fromOld = keep - fromNew;
        if (times != null) {
            // the newest fromOld entries of the old history (which may have another length after a reload)
            int copy = Math.min(fromOld, times.length);
            System.arraycopy(times, times.length - copy, next, fromOld - copy, copy);
        }
        Arrays.fill(next, keep - fromNew, keep, now);
        return next;
    }
}
