package org.tlsjail.forward;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsjail.banengine.SourceKey;

/**
 * Forward mode's bounds and counters: relayed connections open in total ({@code forward.max-relays})
 * and per source ({@code forward.max-relays-per-source}; the source is the ban unit, so the
 * addresses of one IPv6 /64 share it), backend connect failures and bytes each way. A relay costs
 * two threads and their buffers; without these bounds an authenticated client could open relays
 * until memory ran out.
 */
public final class RelayLimits {
    private static final Logger LOG = LoggerFactory.getLogger(RelayLimits.class);
    private static final long REFUSAL_LOG_INTERVAL_MS = 60_000;

    public enum Verdict { ADMITTED, SOURCE_LIMIT, TOTAL_LIMIT }

    private final ConcurrentHashMap<SourceKey, Integer> perSource = new ConcurrentHashMap<>();
    private final AtomicInteger open = new AtomicInteger();
    private final LongAdder refusedTotal = new LongAdder();
    private final LongAdder refusedSource = new LongAdder();
    private final LongAdder connectFailures = new LongAdder();
    private final LongAdder relayed = new LongAdder();
    final LongAdder bytesToBackend = new LongAdder();
    final LongAdder bytesToClient = new LongAdder();
    private final AtomicLong nextLog = new AtomicLong();

    /** Takes a place for a relay from {@code key}; the limits are read at each call (reload may change them). */
    public Verdict tryOpen(SourceKey key, int maxTotal, int maxPerSource) {
        if (open.incrementAndGet() > maxTotal) {
            open.decrementAndGet();
            refusedTotal.increment();
            return Verdict.TOTAL_LIMIT;
        }
        boolean[] ok = {false};
        perSource.compute(key, (k, n) -> {
            int c = n == null ? 0 : n;
            if (c >= maxPerSource) {
                return n;
            }
            ok[0] = true;
            return c + 1;
        });
        if (!ok[0]) {
            open.decrementAndGet();
            refusedSource.increment();
            return Verdict.SOURCE_LIMIT;
        }
        relayed.increment();
        return Verdict.ADMITTED;
    }

    public void close(SourceKey key) {
        perSource.computeIfPresent(key, (k, n) -> n <= 1 ? null : n - 1);
        open.decrementAndGet();
    }

    /** One operational line per minute at most, naming the option that refused. */
    public void logRefusal(InetAddress source, Verdict v, int maxTotal, int maxPerSource, long nowMillis) {
        long next = nextLog.get();
        if (nowMillis >= next && nextLog.compareAndSet(next, nowMillis + REFUSAL_LOG_INTERVAL_MS)) {
            LOG.warn("forward: refused a relay for {} after its handshake: {} ({} refused since start)",
                    org.tlsjail.banengine.Addresses.format(source), v == Verdict.SOURCE_LIMIT
                            ? maxPerSource + " relays already open from its source (forward.max-relays-per-source)"
                            : maxTotal + " relays already open (forward.max-relays)",
                    refusedTotal.sum() + refusedSource.sum());
        }
    }

    public void connectFailed() {
        connectFailures.increment();
    }

    public Stats stats() {
        return new Stats(open.get(), relayed.sum(), refusedTotal.sum(), refusedSource.sum(), connectFailures.sum(),
                bytesToBackend.sum(), bytesToClient.sum());
    }

    /** A snapshot for status and metrics. */
    public record Stats(int open, long relayed, long refusedTotalLimit, long refusedSourceLimit, long connectFailures,
                 long bytesToBackend, long bytesToClient) {
    }
}
