package org.tlsjail.bridge;

import java.time.Duration;
import java.util.Objects;
import org.tlsjail.banengine.FailDuration;

/**
 * How a queued bridge talks to its backend and paces itself: the keys every {@code bridge.<name>}
 * section shares, defined and checked here once for all bridges, every message naming its option.
 *
 * @param section           the bridge's section ({@code bridge.fail2ban}, ...), which messages name
 * @param timeout           {@code <section>.timeout}: longest wait for one request or command
 * @param retryMin          {@code <section>.retry-min}: first wait after a failure, doubled per
 *                          failure (not a key of {@code bridge.nftables}, which keeps its default)
 * @param retryMax          {@code <section>.retry-max}: longest wait between retries (likewise)
 * @param maxPending        {@code <section>.max-pending}: addresses queued at most
 * @param reconcileInterval {@code <section>.reconcile-interval}: how often the backend is brought in
 *                          line with the active bans
 */
public record QueueSettings(String section, Duration timeout, Duration retryMin, Duration retryMax, int maxPending,
                            Duration reconcileInterval) {
    /** The largest {@code max-pending}: the queue's memory stays bounded whatever the file says. */
    public static final int MAX_PENDING = 10_000_000;

    public QueueSettings {
        Objects.requireNonNull(section, "section");
        positive(timeout, section + ".timeout");
        positive(retryMin, section + ".retry-min");
        positive(retryMax, section + ".retry-max");
        if (retryMax.compareTo(retryMin) < 0) {
            throw new IllegalArgumentException(section + ".retry-max must be at least " + section + ".retry-min ("
                    + FailDuration.format(retryMin) + "), got " + FailDuration.format(retryMax));
        }
        if (maxPending < 1 || maxPending > MAX_PENDING) {
            throw new IllegalArgumentException(section + ".max-pending must be 1.." + MAX_PENDING + ", got " + maxPending);
        }
        positive(reconcileInterval, section + ".reconcile-interval");
    }

    /** Checks {@code queue} was made for {@code section}, so its messages name that bridge's options. */
    public static void requireFor(QueueSettings queue, String section) {
        if (!Objects.requireNonNull(queue, section + " queue settings").section().equals(section)) {
            throw new IllegalArgumentException("queue settings of " + queue.section() + " given to " + section);
        }
    }

    private static void positive(Duration d, String option) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(option + " must be a positive duration, got " + d);
        }
    }

    public QueueSettings withTimeout(Duration value) {
        return new QueueSettings(section, value, retryMin, retryMax, maxPending, reconcileInterval);
    }

    public QueueSettings withRetry(Duration min, Duration max) {
        return new QueueSettings(section, timeout, min, max, maxPending, reconcileInterval);
    }

    public QueueSettings withMaxPending(int value) {
        return new QueueSettings(section, timeout, retryMin, retryMax, value, reconcileInterval);
    }

    public QueueSettings withReconcileInterval(Duration value) {
        return new QueueSettings(section, timeout, retryMin, retryMax, maxPending, value);
    }
}
