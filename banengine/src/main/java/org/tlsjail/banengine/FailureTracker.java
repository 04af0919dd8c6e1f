package org.tlsjail.banengine;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Per-source failure history for the strict sliding window, bounded by max-tracked: a
 * purpose-built table of primitive arrays, about 20 bytes a slot and no object per source.
 *
 * <p>A source's history is the times of its last {@code maxretry - 1} failures: all it takes to
 * know whether the next failure makes {@code maxretry} within {@code findtime}. Times are epoch
 * milliseconds modulo 2^32 ({@code int}), compared by wrapping subtraction; {@link #sweep} drops
 * times that have left the window at least once per {@link #sweepInterval}, so no stored time is
 * ever older than findtime (at most 14 days) plus an hour, well inside the 24.8 days a wrapped
 * time can be read unambiguously.
 *
 * <p>Layout: {@code S} segments (a power of two, up to 64), each with its own lock, its own share
 * of the cap and set-associative buckets of {@value #WAYS} slots in parallel arrays: the key
 * ({@code long}: the masked IPv4 address, or the IPv6 prefix's upper 64 bits; a second
 * {@code long} array, allocated only if a prefix longer than /64 is configured, holds the lower
 * bits), the two newest failure times packed in one {@code long}, and an {@code int} with the
 * number of times held plus what kind of key it is (IPv4 or IPv6, prefix length) so keys of
 * different families or prefix lengths never match. Histories longer than two failures
 * ({@code maxretry} above 3) keep their older times in a side array, allocated only then.
 *
 * <p>Each segment's share of the cap is exact: the table never tracks more than max-tracked
 * sources. A new source that finds its segment at its cap, or its bucket full, evicts within
 * its bucket the history with the fewest failures still in the window, the oldest newest
 * failure among equals; a history with nothing left in the window goes first and does not count
 * as an eviction. Under an address spray every newcomer has one failure, so sources failing
 * again and again are not the ones pushed out. Bucket positions are keyed by a per-table random
 * seed, so an attacker cannot pick addresses that all land in a victim's bucket.
 */
final class FailureTracker {
    static final int WAYS = 16;
    private static final int MAX_SEGMENTS = 64;
    /** Slots per tracked source at the cap: a little room so that few buckets overflow early. */
    private static final double SLACK = 1.25;

    private static final int COUNT_MASK = 0x7FF; // up to 2047 times; maxretry is at most 1000
    private static final int KEY_SHIFT = 11;
    private static final int V4_FLAG = 1 << 19;
    private static final int KEY_MASK = ~COUNT_MASK;

    private final long seed;
    private final LongAdder evictions = new LongAdder();
    private final AtomicLong lastSweep;
    private volatile Segment[] segments;
    private volatile int cap;

    FailureTracker(JailConfig config, long now, long seed) {
        this.seed = seed;
        this.cap = config.maxTrackedKeys();
        this.segments = newSegments(cap);
        lastSweep = new AtomicLong(now);
    }

    // ---------------------------------------------------------------- API used by the engine

    /**
     * Adds {@code weight} failures at {@code now}; returns true if that reaches maxretry within
     * findtime, in which case the history is cleared (the ban starts a new count).
     */
    boolean add(SourceKey key, int weight, long now, JailConfig config) {
        long findTime = config.findTime().toMillis();
        if (now - lastSweep.get() >= sweepInterval(findTime)) {
            sweep(now, findTime); // also keeps wrapped times unambiguous where no sweeper runs
        }
        int kb = keyBits(key);
        long k1 = k1(key);
        long k2 = k2(key);
        long h = hash(k1, k2, kb);
        while (true) {
            Segment s = segmentOf(h);
            synchronized (s) {
                if (!s.retired) {
                    return s.add(h, k1, k2, kb, weight, (int) now, findTime, config.maxRetry());
                }
            }
        }
    }

    /** Failures of {@code key} within findtime of {@code now} (at most maxretry - 1: more is a ban). */
    int failures(SourceKey key, long now, long findTime) {
        return lookUp(key, (int) now, findTime, false);
    }

    void forget(SourceKey key) {
        lookUp(key, 0, 0, true);
    }

    /** The key's in-window count (0 if untracked); with {@code forget}, drops its history instead. */
    private int lookUp(SourceKey key, int nowW, long findTime, boolean forget) {
        int kb = keyBits(key);
        long k1 = k1(key);
        long k2 = k2(key);
        long h = hash(k1, k2, kb);
        while (true) {
            Segment s = segmentOf(h);
            synchronized (s) {
                if (!s.retired) {
                    int i = s.find(h, k1, k2, kb);
                    if (i < 0) {
                        return 0;
                    }
                    if (forget) {
                        s.remove(i);
                        return 0;
                    }
                    return s.countWithin(i, nowW, findTime);
                }
            }
        }
    }

    /**
     * Applies a new max-tracked: the histories move to a table sized for it (the lowest-ranked
     * ones are evicted if it is smaller). Callers are serialised by the engine's lock; failures
     * recorded meanwhile wait for the move and then go to the new table.
     */
    void reconfigure(JailConfig config) {
        int next = config.maxTrackedKeys();
        if (next == cap) {
            return;
        }
        Segment[] old = segments;
        Segment[] fresh = newSegments(next);
        lockAllAndMove(old, fresh, 0);
        cap = next;
    }

    /** Drops the histories whose failures have all left the window, and stale times from the rest. */
    void sweep(long now, long findTime) {
        lastSweep.set(now);
        for (Segment s : segments) {
            synchronized (s) {
                if (!s.retired) {
                    s.sweep((int) now, findTime);
                }
            }
        }
    }

    static long sweepInterval(long findTime) {
        return Math.max(1_000, Math.min(findTime, 3_600_000));
    }

    long lastSweep() {
        return lastSweep.get();
    }

    /** Sources tracked now (exact, read without locking). */
    long size() {
        long n = 0;
        for (Segment s : segments) {
            n += s.count;
        }
        return n;
    }

    long evictions() {
        return evictions.sum();
    }

    /** Slots allocated now, for the memory tests. */
    long slots() {
        long n = 0;
        for (Segment s : segments) {
            n += s.info.length;
        }
        return n;
    }

    // ---------------------------------------------------------------- keys

    static int keyBits(SourceKey key) {
        return ((key.prefixLength() + 1) << KEY_SHIFT) | (key.isIpv4() ? V4_FLAG : 0);
    }

    /** IPv4: the mapped address sits in lo (hi is 0); IPv6: hi, plus lo if the prefix is longer than /64. */
    static long k1(SourceKey key) {
        return key.isIpv4() ? key.lo() : key.hi();
    }

    static long k2(SourceKey key) {
        return key.isIpv4() ? 0 : key.lo();
    }

    private static boolean wide(int kb) {
        return (kb & V4_FLAG) == 0 && (kb >>> KEY_SHIFT & 0xFF) - 1 > 64;
    }

    private long hash(long k1, long k2, int kb) {
        long h = k1 * 0x9E3779B97F4A7C15L ^ k2 * 0xC2B2AE3D27D4EB4FL ^ kb ^ seed;
        h = (h ^ (h >>> 33)) * 0xFF51AFD7ED558CCDL;
        h = (h ^ (h >>> 33)) * 0xC4CEB9FE1A85EC53L;
        return h ^ (h >>> 33);
    }

    private Segment segmentOf(long h) {
        Segment[] segs = segments;
        return segs[(int) (h >>> 32) & (segs.length - 1)];
    }

    private Segment[] newSegments(int cap) {
        int n = 1;
        while (n < MAX_SEGMENTS && (long) n * 2 * 64 <= cap) {
            n *= 2; // at least 64 sources per segment, so every segment has a real share
        }
        Segment[] segs = new Segment[n];
        for (int i = 0; i < n; i++) {
            segs[i] = new Segment(cap / n + (i < cap % n ? 1 : 0));
        }
        return segs;
    }

    /** Locks the old segments one after the other (recursively, so all are held), moves, publishes. */
    private void lockAllAndMove(Segment[] old, Segment[] fresh, int from) {
        if (from == old.length) {
            for (Segment s : old) {
                s.forEach((k1, k2, kb, times, n, older) -> {
                    long h = hash(k1, k2, kb);
                    Segment t = fresh[(int) (h >>> 32) & (fresh.length - 1)];
                    t.insertRaw(h, k1, k2, kb, times, n, older);
                });
                s.retired = true;
            }
            segments = fresh;
            return;
        }
        synchronized (old[from]) {
            lockAllAndMove(old, fresh, from + 1);
        }
    }

    /** Age in ms of a wrapped time; negative ages (clock stepped back) count as fresh. */
    private static boolean inWindow(int wrapped, int nowW, long findTime) {
        return Math.max(0, nowW - wrapped) <= findTime;
    }

    @FunctionalInterface
    private interface EntryVisitor {
        void visit(long k1, long k2, int kb, long times, int n, int[] older);
    }

    /** One lock's worth of the table. Every method runs with the segment's monitor held. */
    private final class Segment {
        final int capLimit;
        final int maxBuckets;
        int buckets;
        long[] k1;
        long[] k2; // lazily: only prefixes longer than /64
        long[] times; // newest << 32 | second newest
        int[] info; // count | key kind; 0 = empty
        int[][] older; // lazily: times before the two newest, oldest first
        int[] scratch = new int[4];
        volatile int count;
        boolean retired;

        Segment(int capLimit) {
            this.capLimit = capLimit;
            this.maxBuckets = Math.max(1, (int) Math.ceil(capLimit * SLACK / WAYS));
            allocate(Math.min(maxBuckets, 4));
        }

        private void allocate(int nBuckets) {
            buckets = nBuckets;
            int slots = nBuckets * WAYS;
            k1 = new long[slots];
            k2 = null;
            times = new long[slots];
            info = new int[slots];
            older = null;
        }

        int bucketBase(long h) {
            return (int) (((h & 0xFFFF_FFFFL) * buckets) >>> 32) * WAYS;
        }

        int find(long h, long key1, long key2, int kb) {
            int base = bucketBase(h);
            boolean wide = wide(kb);
            for (int i = base; i < base + WAYS; i++) {
                if ((info[i] & KEY_MASK) == kb && k1[i] == key1 && (!wide || k2[i] == key2)) {
                    return i;
                }
            }
            return -1;
        }

        boolean add(long h, long key1, long key2, int kb, int weight, int nowW, long findTime, int maxRetry) {
            int i = find(h, key1, key2, kb);
            int needed = maxRetry - weight;
            int c = i < 0 ? 0 : countWithin(i, nowW, findTime);
            if (needed <= 0 || c >= needed) {
                if (i >= 0) {
                    remove(i);
                }
                return true;
            }
            // c + weight < maxretry: the whole in-window history plus the new failures fit
            int n = c + weight;
            int[] t = scratch(n);
            if (i >= 0) {
                gatherWithin(i, nowW, findTime, t);
            } else {
                i = claim(h, kb, key1, key2, nowW, findTime);
            }
            for (int j = c; j < n; j++) {
                t[j] = nowW;
            }
            store(i, t, n);
            return false;
        }

        /** A free slot in the key's bucket for a new key, evicting or growing as needed. */
        private int claim(long h, int kb, long key1, long key2, int nowW, long findTime) {
            if (buckets < maxBuckets && (count + 1) * 4L > info.length * 3L) {
                grow();
            }
            while (true) {
                int base = bucketBase(h);
                int free = -1;
                boolean anyUsed = false;
                for (int i = base; i < base + WAYS; i++) {
                    if (info[i] == 0) {
                        free = free < 0 ? i : free;
                    } else {
                        anyUsed = true;
                    }
                }
                int slot;
                if (count >= capLimit) {
                    // at this segment's share of the cap: one out for one in, from this bucket if it can
                    if (anyUsed) {
                        slot = victim(base, nowW, findTime);
                        evict(slot, nowW, findTime);
                    } else {
                        evict(victimNear(base, nowW, findTime), nowW, findTime);
                        slot = free;
                    }
                } else if (free >= 0) {
                    slot = free;
                } else if (buckets < maxBuckets) {
                    grow();
                    continue;
                } else {
                    slot = victim(base, nowW, findTime);
                    evict(slot, nowW, findTime);
                }
                occupy(slot, kb, key1, key2);
                return slot;
            }
        }

        private void occupy(int i, int kb, long key1, long key2) {
            info[i] = kb;
            k1[i] = key1;
            if (wide(kb)) {
                if (k2 == null) {
                    k2 = new long[info.length];
                }
                k2[i] = key2;
            }
            count++;
        }

        /** In the bucket at {@code base}: fewest failures in the window, then the oldest newest failure. */
        private int victim(int base, int nowW, long findTime) {
            int best = -1;
            int bestCount = Integer.MAX_VALUE;
            long bestAge = -1;
            for (int i = base; i < base + WAYS; i++) {
                if (info[i] == 0) {
                    continue;
                }
                int c = countWithin(i, nowW, findTime);
                long age = Math.max(0, nowW - (int) (times[i] >>> 32));
                if (c < bestCount || (c == bestCount && age > bestAge)) {
                    best = i;
                    bestCount = c;
                    bestAge = age;
                    if (c == 0) {
                        break;
                    }
                }
            }
            return best;
        }

        /** The first bucket after {@code base} that holds anything: the segment is at its cap, so one does. */
        private int victimNear(int base, int nowW, long findTime) {
            int slots = info.length;
            for (int b = (base + WAYS) % slots; ; b = (b + WAYS) % slots) {
                for (int i = b; i < b + WAYS; i++) {
                    if (info[i] != 0) {
                        return victim(b, nowW, findTime);
                    }
                }
            }
        }

        private void evict(int i, int nowW, long findTime) {
            if (countWithin(i, nowW, findTime) > 0) {
                evictions.increment();
            }
            remove(i);
        }

        void remove(int i) {
            info[i] = 0;
            k1[i] = 0;
            times[i] = 0;
            if (k2 != null) {
                k2[i] = 0;
            }
            if (older != null) {
                older[i] = null;
            }
            count--;
        }

        int countWithin(int i, int nowW, long findTime) {
            int n = info[i] & COUNT_MASK;
            long tt = times[i];
            int c = inWindow((int) (tt >>> 32), nowW, findTime) ? 1 : 0;
            if (n >= 2 && inWindow((int) tt, nowW, findTime)) {
                c++;
            }
            if (n > 2) {
                for (int t : older[i]) {
                    if (inWindow(t, nowW, findTime)) {
                        c++;
                    }
                }
            }
            return c;
        }

        /** Copies slot {@code i}'s in-window times, oldest first, into {@code out}; returns how many. */
        private int gatherWithin(int i, int nowW, long findTime, int[] out) {
            int n = info[i] & COUNT_MASK;
            int c = 0;
            if (n > 2) {
                for (int t : older[i]) {
                    if (inWindow(t, nowW, findTime)) {
                        out[c++] = t;
                    }
                }
            }
            long tt = times[i];
            if (n >= 2 && inWindow((int) tt, nowW, findTime)) {
                out[c++] = (int) tt;
            }
            if (inWindow((int) (tt >>> 32), nowW, findTime)) {
                out[c++] = (int) (tt >>> 32);
            }
            return c;
        }

        /** Slot {@code i} holds the {@code n} times {@code t[0..n)}, oldest first. */
        private void store(int i, int[] t, int n) {
            info[i] = (info[i] & KEY_MASK) | n;
            times[i] = (long) t[n - 1] << 32 | (n >= 2 ? t[n - 2] & 0xFFFF_FFFFL : 0);
            if (n > 2) {
                if (older == null) {
                    older = new int[info.length][];
                }
                int[] o = older[i];
                if (o == null || o.length != n - 2) {
                    o = new int[n - 2];
                    older[i] = o;
                }
                System.arraycopy(t, 0, o, 0, n - 2);
            } else if (older != null) {
                older[i] = null;
            }
        }

        private int[] scratch(int n) {
            if (scratch.length < n) {
                scratch = new int[Math.max(n, scratch.length * 2)];
            }
            return scratch;
        }

        void sweep(int nowW, long findTime) {
            for (int i = 0; i < info.length; i++) {
                if (info[i] == 0) {
                    continue;
                }
                int n = info[i] & COUNT_MASK;
                int c = countWithin(i, nowW, findTime);
                if (c == 0) {
                    remove(i);
                } else if (c < n) {
                    int[] t = scratch(n);
                    gatherWithin(i, nowW, findTime, t);
                    store(i, t, c);
                }
            }
        }

        /** Doubles the buckets (up to the cap's share) and re-places every history. */
        private void grow() {
            long[] oldK1 = k1;
            long[] oldK2 = k2;
            long[] oldTimes = times;
            int[] oldInfo = info;
            int[][] oldOlder = older;
            allocate(Math.min(maxBuckets, buckets * 2));
            count = 0;
            for (int i = 0; i < oldInfo.length; i++) {
                if (oldInfo[i] != 0) {
                    int kb = oldInfo[i] & KEY_MASK;
                    long key2 = oldK2 == null ? 0 : oldK2[i];
                    insertRaw(hash(oldK1[i], key2, kb), oldK1[i], key2, kb, oldTimes[i], oldInfo[i] & COUNT_MASK,
                            oldOlder == null ? null : oldOlder[i]);
                }
            }
        }

        /**
         * Puts a whole history in (growing or moving tables). If its bucket is full the lowest
         * ranked of the bucket and the newcomer is dropped: the table stays within its cap.
         */
        void insertRaw(long h, long key1, long key2, int kb, long tt, int n, int[] old) {
            int base = bucketBase(h);
            int slot = -1;
            for (int i = base; i < base + WAYS && slot < 0; i++) {
                if (info[i] == 0) {
                    slot = i;
                }
            }
            if (slot < 0 || count >= capLimit) {
                if (count == 0) {
                    return; // a zero share cannot happen (see newSegments), but never loop
                }
                int nowW = (int) (tt >>> 32); // rank against the newcomer's own newest failure
                int v = slot < 0 ? victim(base, nowW, Long.MAX_VALUE) : victimNear(base - WAYS, nowW, Long.MAX_VALUE);
                int vc = info[v] & COUNT_MASK;
                long vAge = Math.max(0, nowW - (int) (times[v] >>> 32));
                if (vc > n || (vc == n && vAge == 0)) {
                    evictions.increment();
                    return; // the newcomer ranks lowest
                }
                evictions.increment();
                remove(v);
                slot = slot < 0 ? v : slot;
            }
            occupy(slot, kb, key1, key2);
            info[slot] = kb | n;
            times[slot] = tt;
            if (n > 2) {
                if (older == null) {
                    older = new int[info.length][];
                }
                older[slot] = old;
            }
        }

        void forEach(EntryVisitor v) {
            for (int i = 0; i < info.length; i++) {
                if (info[i] != 0) {
                    v.visit(k1[i], k2 == null ? 0 : k2[i], info[i] & KEY_MASK, times[i], info[i] & COUNT_MASK,
                            older == null ? null : older[i]);
                }
            }
        }
    }
}
