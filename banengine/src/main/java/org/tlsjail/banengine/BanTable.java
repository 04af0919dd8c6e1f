package org.tlsjail.banengine;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Key to ban-end lookup for the hot path: lock-free, allocation-free reads; writes under the
 * engine's lock.
 *
 * <p>Open addressing over parallel arrays. A slot's key is written once and never changed while
 * that array set is published, and its {@code until} is written with release semantics after the
 * key, so a reader that sees a non-zero {@code until} (acquire) also sees the key that belongs to
 * it. Removal leaves a tombstone ({@code until = 1}, a moment long past, so it reads as "not
 * banned"). When keys plus tombstones pass half the capacity the live entries move to fresh
 * arrays, published through one volatile write; a reader still on the old arrays sees a
 * consistent, slightly older state.
 */
final class BanTable {
    private static final long EMPTY = 0;
    private static final long TOMBSTONE = 1;

    private static final class Slots {
        final long[] hi;
        final long[] lo;
        final AtomicLongArray until;
        final int mask;
        int used; // keys written, live or tombstoned; writer-only

        Slots(int capacity) {
            hi = new long[capacity];
            lo = new long[capacity];
            until = new AtomicLongArray(capacity);
            mask = capacity - 1;
        }
    }

    private volatile Slots slots = new Slots(16);

    /** The ban end in epoch millis, or 0 if the key was never banned here or was removed (1). */
    long untilOf(long hi, long lo) {
        Slots s = slots;
        int i = spread(hi, lo) & s.mask;
        while (true) {
            long u = s.until.getAcquire(i);
            if (u == EMPTY) {
                return 0;
            }
            if (s.hi[i] == hi && s.lo[i] == lo) {
                return u;
            }
            i = (i + 1) & s.mask;
        }
    }

    /** Writer only. */
    void put(long hi, long lo, long until) {
        Slots s = slots;
        if ((s.used + 1) * 2 > s.hi.length) {
            s = rebuild(s);
        }
        int i = spread(hi, lo) & s.mask;
        while (true) {
            long u = s.until.get(i);
            if (u == EMPTY) {
                s.hi[i] = hi;
                s.lo[i] = lo;
                s.used++;
                s.until.setRelease(i, until);
                return;
            }
            if (s.hi[i] == hi && s.lo[i] == lo) {
                s.until.setRelease(i, until);
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
            long u = s.until.get(i);
            if (u == EMPTY) {
                return;
            }
            if (s.hi[i] == hi && s.lo[i] == lo) {
                s.until.setRelease(i, TOMBSTONE);
                return;
            }
            i = (i + 1) & s.mask;
        }
    }

    /** Writer only: drop everything. */
    void clear() {
        slots = new Slots(16);
    }

    private Slots rebuild(Slots old) {
        int live = 0;
        for (int i = 0; i < old.hi.length; i++) {
            if (old.until.get(i) > TOMBSTONE) {
                live++;
            }
        }
        int capacity = 16;
        while (capacity < (live + 1) * 4) {
            capacity <<= 1;
        }
        Slots fresh = new Slots(capacity);
        for (int i = 0; i < old.hi.length; i++) {
            long u = old.until.get(i);
            if (u > TOMBSTONE) {
                int j = spread(old.hi[i], old.lo[i]) & fresh.mask;
                while (fresh.until.get(j) != EMPTY) {
                    j = (j + 1) & fresh.mask;
                }
                fresh.hi[j] = old.hi[i];
                fresh.lo[j] = old.lo[i];
                fresh.until.set(j, u);
                fresh.used++;
            }
        }
        slots = fresh;
        return fresh;
    }

    private static int spread(long hi, long lo) {
        long h = (hi * 0x9E3779B97F4A7C15L) ^ lo;
        h *= 0xBF58476D1CE4E5B9L;
        return (int) (h ^ (h >>> 31) ^ (h >>> 47));
    }
}
