package org.tlsjail.listener;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import org.tlsjail.banengine.SourceKey;

/**
 * Counts connections per ban unit and in total, in two stages.
 *
 * <p><b>Held</b> (from accept to the end of the handshake): at most {@code maxPerSource} per unit
 * and {@code maxTotal} in all, of which {@code partnerReserve} only partners may take: a flood by
 * others fills the rest and partners still get in.
 *
 * <p><b>Started</b> (past the first-flight gate: the server has sent or is about to send its
 * flight): at most what the caller allows at that moment, computed under the unit's lock. For a
 * source that has not proven itself that is {@code maxretry - failures in its window}: failures are
 * recorded before the slot is released, so started + failures never exceeds maxretry, however many
 * connections the unit opens in parallel.
 *
 * <p>A map entry exists only while a unit holds a connection, so the map never holds more than
 * {@code maxTotal} entries.
 */
final class SourceAdmission {
    enum Verdict { ADMITTED, SOURCE_LIMIT, TOTAL_LIMIT }

    private static final class Counts {
        int held;
        int started;
    }

    private final ConcurrentHashMap<SourceKey, Counts> perSource = new ConcurrentHashMap<>();
    private final AtomicInteger total = new AtomicInteger();
    private final AtomicInteger startedTotal = new AtomicInteger();
    private final AtomicInteger unprovenStarted = new AtomicInteger();
    private final int maxPerSource;
    private final int maxTotal;
    private final int partnerReserve;
    private final int maxUnprovenStarted;

    SourceAdmission(int maxPerSource, int maxTotal, int partnerReserve) {
        this(maxPerSource, maxTotal, partnerReserve, Integer.MAX_VALUE);
    }

    /**
     * @param maxUnprovenStarted handshakes of sources that are not known partners past the gate at
     *                           once, all sources together: bounds the CPU a flood of complete
     *                           ClientHellos from many sources can take from partners
     */
    SourceAdmission(int maxPerSource, int maxTotal, int partnerReserve, int maxUnprovenStarted) {
        this.maxPerSource = maxPerSource;
        this.maxTotal = maxTotal;
        this.partnerReserve = partnerReserve;
        this.maxUnprovenStarted = maxUnprovenStarted;
    }

    /** True if no handshake of a source that is not a partner may start now (a cheap pre-check). */
    boolean unprovenFull() {
        return unprovenStarted.get() >= maxUnprovenStarted;
    }

    /** At accept (or once a preamble named the real source): a place among the held connections. */
    Verdict tryHold(Visit v) {
        int cap = v.partner ? maxTotal : maxTotal - partnerReserve;
        if (total.incrementAndGet() > cap) {
            total.decrementAndGet();
            return Verdict.TOTAL_LIMIT;
        }
        boolean[] ok = {false};
        perSource.compute(v.key, (k, c) -> {
            Counts n = c == null ? new Counts() : c;
            if (n.held >= maxPerSource) {
                return c;
            }
            n.held++;
            ok[0] = true;
            return n;
        });
        if (!ok[0]) {
            total.decrementAndGet();
            return Verdict.SOURCE_LIMIT;
        }
        v.held = true;
        return Verdict.ADMITTED;
    }

    /**
     * At the gate's exit: may {@code v} start its handshake? {@code allowed} is asked under the
     * unit's lock, so a failure recorded before {@link #release} is always seen.
     */
    boolean tryStart(Visit v, IntSupplier allowed) {
        boolean[] ok = {false};
        boolean unproven = !v.partner;
        perSource.computeIfPresent(v.key, (k, c) -> {
            if (c.started < allowed.getAsInt() && (!unproven || takeUnproven())) {
                c.started++;
                ok[0] = true;
            }
            return c;
        });
        if (ok[0]) {
            v.started = true;
            v.startedUnproven = unproven;
            startedTotal.incrementAndGet();
        }
        return ok[0];
    }

    /** The connection's handshake is over (or it never started): gives back what it held. Idempotent. */
    void release(Visit v) {
        if (!v.held) {
            return;
        }
        boolean started = v.started;
        if (started && v.startedUnproven) {
            unprovenStarted.decrementAndGet();
        }
        v.held = false;
        v.started = false;
        v.startedUnproven = false;
        perSource.computeIfPresent(v.key, (k, c) -> {
            c.held--;
            if (started) {
                c.started--;
            }
            return c.held <= 0 ? null : c;
        });
        if (started) {
            startedTotal.decrementAndGet();
        }
        total.decrementAndGet();
    }

    private boolean takeUnproven() {
        for (int n = unprovenStarted.get(); n < maxUnprovenStarted; n = unprovenStarted.get()) {
            if (unprovenStarted.compareAndSet(n, n + 1)) {
                return true;
            }
        }
        return false;
    }

    /** Connections held (parked at the gate or handshaking). */
    int inProgress() {
        return total.get();
    }

    /** Handshakes past the gate. */
    int started() {
        return startedTotal.get();
    }
}
