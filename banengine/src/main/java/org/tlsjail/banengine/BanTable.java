package org.tlsjail.banengine;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Key to ban-end lookup for the hot path: lock-free, allocation-free reads; writes under the
 * engine's lock.
 *
 * <p>Open addressing over one long array (see {@link Slots}). A slot's key is written once and never changed while
 * that array set is published, and its {@code until} is written with release semantics after the
 * key, so a reader that sees a non-zero {@code until} (acquire) also sees the key that belongs to
 * it. Removal leaves a tombstone ({@code until = 1}, a moment long past, so it reads as "not
 * banned"). When keys plus tombstones pass half the capacity the live entries move to fresh
 * arrays, published through one volatile write; a reader still on the old arrays sees a
 * consistent, slightly older state.
 *
 * <p>In front of the slots, one bit per key hash in a filter eight times the slot count: a miss
 * (every connection from a source that is not banned) reads one bit of an array 32 times
 * smaller than the slots, which stays in cache where the slots of 100,000 bans do not. A bit is
 * set before its slot's {@code until} is released and is cleared only by a rebuild, so a clear
 * bit always means "not banned" (removals only leave false positives until the next rebuild).
 */
final class BanTable {
    private static final long EMPTY = 0;
    private static final long TOMBSTONE = 1;
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

    /**
     * One array, four longs a slot (hi, lo, until, unused): a probe reads one cache line, where
     * three parallel arrays cost three. {@code until} is accessed with acquire/release.
     */
    private static final class Slots {
        final long[] a;
        final int mask;
        /** 8 bits per slot, indexed by the key's hash; written before the slot, see the class comment. */
        final long[] filter;
        final int filterMask;
        int used; // keys written, live or tombstoned; writer-only

        Slots(int capacity) {
            a = new long[capacity * 4];
            mask = capacity - 1;
            filter = new long[capacity / 8];
            filterMask = capacity * 8 - 1;
        }

        boolean mayHold(int h) {
            int b = h & filterMask;
            return (filter[b >>> 6] & (1L << b)) != 0;
        }

        void mark(int h) {
            int b = h & filterMask;
            filter[b >>> 6] |= 1L << b;
        }

        int capacity() {
            return mask + 1;
        }

        long until(int i) {
            return (long) LONGS.getAcquire(a, i * 4 + 2);
        }

        void setUntil(int i, long until) {
            LONGS.setRelease(a, i * 4 + 2, until);
        }
    }

    private volatile Slots slots = new Slots(16);

    /** The ban end in epoch millis, or 0 if the key was never banned here or was removed (1). */
    long untilOf(long hi, long lo) {
        Slots s = slots;
        int h = spread(hi, lo);
        if (!s.mayHold(h)) {
            return 0;
        }
        int i = h & s.mask;
        while (true) {
            long u = s.until(i);
            if (u == EMPTY) {
                return 0;
            }
            if (s.a[i * 4] == hi && s.a[i * 4 + 1] == lo) {
                return u;
            }
            i = (i + 1) & s.mask;
        }
    }

    /** Writer only. */
    void put(long hi, long lo, long until) {
        Slots s = slots;
        if ((s.used + 1) * 2 > s.capacity()) {
            s = rebuild(s);
        }
        int h = spread(hi, lo);
        int i = h & s.mask;
        while (true) {
            long u = s.until(i);
            if (u == EMPTY) {
                s.mark(h);
                s.a[i * 4] = hi;
                s.a[i * 4 + 1] = lo;
                s.used++;
                s.setUntil(i, until);
                return;
            }
            if (s.a[i * 4] == hi && s.a[i * 4 + 1] == lo) {
                s.setUntil(i, until);
                return;
            }
            i = (i + 1) & s.mask;
        }
    }

    /** Writer only. */
    void remove(long hi, long lo) {
        Slots s = slots;
        int i = spread(hi, lo) & s.mask;
        while (true) {
            long u = s.until(i);
            if (u == EMPTY) {
                return;
            }
            if (s.a[i * 4] == hi && s.a[i * 4 + 1] == lo) {
                s.setUntil(i, TOMBSTONE);
                return;
            }
            i = (i + 1) & s.mask;
        }
    }

    private Slots rebuild(Slots old) {
        int live = 0;
        for (int i = 0; i < old.capacity(); i++) {
            if (old.until(i) > TOMBSTONE) {
                live++;
            }
        }
        int capacity = 16;
        while (capacity < (live + 1) * 4) {
            capacity <<= 1;
        }
        Slots fresh = new Slots(capacity);
        for (int i = 0; i < old.capacity(); i++) {
            long u = old.until(i);
            if (u > TOMBSTONE) {
                long hi = old.a[i * 4];
                long lo = old.a[i * 4 + 1];
                int h = spread(hi, lo);
                fresh.mark(h);
                int j = h & fresh.mask;
                while (fresh.until(j) != EMPTY) {
                    j = (j + 1) & fresh.mask;
                }
                fresh.a[j * 4] = hi;
                fresh.a[j * 4 + 1] = lo;
                fresh.a[j * 4 + 2] = u;
                fresh.used++;
            }
        }
        slots = fresh; // the volatile write publishes the filled arrays
        return fresh;
    }

    private static int spread(long hi, long lo) {
        long h = (hi * 0x9E3779B97F4A7C15L) ^ lo;
        h *= 0xBF58476D1CE4E5B9L;
        return (int) (h ^ (h >>> 31) ^ (h >>> 47));
    }
}
