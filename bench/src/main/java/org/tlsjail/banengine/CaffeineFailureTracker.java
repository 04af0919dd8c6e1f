package org.tlsjail.banengine;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The failure tracker as it was before issue 16 (Caffeine W-TinyLFU, a boxed history per
 * source), kept in the benchmarks only as the same-run baseline for the primitive table.
 *
 * <p>Per-source failure history for the strict sliding window, bounded by max-tracked.
 *
 * <p>A source's history is the times of its last {@code maxretry - 1} failures, oldest first: all
 * it takes to know whether the next failure makes {@code maxretry} within {@code findtime}.
 * Caffeine bounds the number of sources (W-TinyLFU: under an address spray the one-off newcomers,
 * not the sources failing again and again, are the ones evicted).
 *
 * <p>Memory is the point of the encoding: an IPv4 source's key is a boxed {@code Integer} of its
 * masked address (16 bytes, not a 32-byte {@link SourceKey}), times are {@code int} epoch milliseconds modulo 2^32 compared
 * by wrapping subtraction, and there is no per-entry expiry (it costs Caffeine 16 bytes a node).
 * Instead {@link #sweep} drops histories whose newest failure has left the window, at least once
 * per {@link #sweepInterval}; since findtime is at most 14 days, no history lives long enough for
 * its wrapped times (good for 24.8 days) to be misread.
 */
final class CaffeineFailureTracker {
    private final Cache<Object, Object> histories;
    private final LongAdder evictions = new LongAdder();
    private final AtomicLong lastSweep;

    CaffeineFailureTracker(JailConfig config, long now) {
        histories = Caffeine.newBuilder()
                .maximumSize(config.maxTrackedKeys())
                .executor(Runnable::run)
                .evictionListener((Object k, Object v, RemovalCause cause) -> {
                    if (cause == RemovalCause.SIZE) {
                        evictions.increment();
                    }
                })
                .build();
        lastSweep = new AtomicLong(now);
    }

    /**
     * Adds {@code weight} failures at {@code now}; returns true if that reaches maxretry within
     * findtime, in which case the history is cleared (the ban starts a new count).
     */
    boolean add(SourceKey key, int weight, long now, JailConfig config) {
        long findTime = config.findTime().toMillis();
        if (now - lastSweep.get() >= sweepInterval(findTime)) {
            sweep(now, findTime); // also keeps wrapped times unambiguous where no sweeper runs
        }
        boolean[] reached = {false};
        int keep = config.maxRetry() - 1;
        int needed = config.maxRetry() - weight;
        histories.asMap().compute(compact(key), (k, times) -> {
            if (needed <= 0 || countWithin(times, now, findTime) >= needed) {
                reached[0] = true;
                return null;
            }
            return append(times, keep, weight, now, findTime);
        });
        return reached[0];
    }

    void forget(SourceKey key) {
        histories.invalidate(compact(key));
    }

    /** Applies a new max-tracked without dropping histories. */
    void reconfigure(JailConfig config) {
        histories.policy().eviction().ifPresent(e -> e.setMaximum(config.maxTrackedKeys()));
    }

    /** Drops the histories whose newest failure is older than findtime. */
    void sweep(long now, long findTime) {
        lastSweep.set(now);
        histories.asMap().values().removeIf(h -> age(newest(h), now) > findTime);
        histories.cleanUp();
    }

    static long sweepInterval(long findTime) {
        return Math.max(1_000, Math.min(findTime, 3_600_000));
    }

    long lastSweep() {
        return lastSweep.get();
    }

    long size() {
        return histories.estimatedSize();
    }

    long evictions() {
        return evictions.sum();
    }

    private static Object compact(SourceKey key) {
        return key.isIpv4() ? (Object) (int) key.lo() : key; // the masked IPv4 bits
    }

    /** Age in ms of a wrapped time; negative ages (clock stepped back) count as fresh. */
    private static long age(int wrapped, long now) {
        return Math.max(0, (int) now - wrapped);
    }

    /**
     * A history is an {@code Integer} while it holds one failure (16 bytes: the common case under
     * an address spray, where each source fails once) and an {@code int[]}, oldest first, after.
     */
    private static int newest(Object history) {
        return history instanceof Integer one ? one : ((int[]) history)[((int[]) history).length - 1];
    }

    private static int countWithin(Object history, long now, long findTime) {
        if (history == null) {
            return 0;
        }
        if (history instanceof Integer one) {
            return age(one, now) <= findTime ? 1 : 0;
        }
        int n = 0;
        for (int t : (int[]) history) {
            if (age(t, now) <= findTime) {
                n++;
            }
        }
        return n;
    }

    /** The newest {@code keep} in-window times after adding {@code weight} failures at {@code now}. */
    private static Object append(Object history, int keep, int weight, long now, long findTime) {
        int fromNew = Math.min(weight, keep);
        int fromOld = Math.min(keep - fromNew, countWithin(history, now, findTime));
        if (fromOld + fromNew == 1) {
            return (int) now;
        }
        int[] next = new int[fromOld + fromNew];
        if (fromOld > 0) {
            // in-window times are the newest ones, at the end of the old history
            if (history instanceof Integer one) {
                next[0] = one;
            } else {
                int[] times = (int[]) history;
                System.arraycopy(times, times.length - fromOld, next, 0, fromOld);
            }
        }
        java.util.Arrays.fill(next, fromOld, next.length, (int) now);
        return next;
    }
}
