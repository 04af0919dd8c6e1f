package org.tlsjail.bridge;

import java.io.IOException;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every host-ban backend shares: the bounded coalescing queue the engine's callbacks fill
 * (never blocking under its lock), one thread of the bridge's own that drains it in batches,
 * retries any failure with exponential backoff while the changes stay queued, reconciles with the
 * backend every {@code reconcile-interval}, and a bounded stop. A backend supplies only what
 * differs: how to open and check it, apply a batch, reconcile, and let go of it.
 *
 * <p>One loop for all backends, so a fix to it (a failure that must back off, a stop that must
 * not hang) reaches every bridge. Public only because the backend packages extend it.
 *
 * @param <K> what changes are coalesced by (an address or prefix)
 * @param <C> a queued change
 */
public abstract class QueuedBridge<K, C> implements HostBanBridge {
    private static final Logger LOG = LoggerFactory.getLogger(QueuedBridge.class);

    /**
     * How the loop paces itself.
     *
     * @param batch             changes taken from the queue per round
     * @param retryMin          first wait after a failure; doubled per failure up to {@code retryMax}
     * @param retryMax          longest wait between retries
     * @param reconcileInterval time between reconciliations (and the idle wait when there are none)
     * @param stopWait          how long {@link #close()} waits for the thread before interrupting it
     */
    private record Pacing(int batch, Duration retryMin, Duration retryMax, Duration reconcileInterval,
                            Duration stopWait) {
        public Pacing {
            if (batch < 1) {
                throw new IllegalArgumentException("batch must be at least 1");
            }
            Objects.requireNonNull(retryMin, "retryMin");
            Objects.requireNonNull(retryMax, "retryMax");
            Objects.requireNonNull(reconcileInterval, "reconcileInterval");
            Objects.requireNonNull(stopWait, "stopWait");
        }
    }

    protected final PendingChanges<K, C> pending;
    protected final BridgeHealth health;
    private final Pacing pacing;
    private final CountDownLatch stopping = new CountDownLatch(1);
    private final Object lifecycle = new Object();
    private Thread thread;
    private volatile boolean reconcileRequested;

    private QueuedBridge(int maxPending, InstantSource clock, Pacing pacing) {
        this.pending = new PendingChanges<>(maxPending);
        this.health = new BridgeHealth(Objects.requireNonNull(clock, "clock"));
        this.pacing = Objects.requireNonNull(pacing, "pacing");
    }

    /**
     * Paced by the bridge's section: {@code close()} waits for one request's {@code timeout} plus
     * 2 s before it interrupts the thread.
     *
     * @param batch changes taken from the queue per round
     */
    protected QueuedBridge(QueueSettings queue, int batch, InstantSource clock) {
        this(queue.maxPending(), clock, new Pacing(batch, queue.retryMin(), queue.retryMax(), queue.reconcileInterval(),
                queue.timeout().plusSeconds(2)));
    }

    // ---------------------------------------------------------------- what a backend supplies

    /** The name used in messages and the thread's name, e.g. {@code "Fail2Ban"}. */
    protected abstract String kind();

    /** A short name for the bridge's thread (suffix of {@code tlsjail-bridge-}). */
    protected abstract String threadName();

    /**
     * Checks the backend and brings it in line with the active bans, on the caller's thread.
     *
     * @throws BridgeStartException naming the option to fix
     */
    protected abstract void open();

    /**
     * Applies a batch. On a failure worth retrying, puts back what was not applied (see
     * {@link PendingChanges#putBack}) and throws; a change the backend refuses for good is
     * recorded in {@link #health} and dropped.
     */
    protected abstract void apply(List<Map.Entry<K, C>> batch) throws IOException;

    /** Makes the backend hold exactly the active bans; only called when {@link #reconciles()}. */
    protected abstract void reconcile() throws IOException;

    /** Whether this bridge reconciles (a bridge that only reports attempts does not). */
    protected boolean reconciles() {
        return true;
    }

    /**
     * Before each round: (re)connects if the backend needs a connection and has none. Returns
     * true when it connected just now (the backoff starts again from {@code retryMin}).
     */
    protected boolean connectIfNeeded() throws IOException {
        return false;
    }

    /** A round failed: the changes stay queued; drop a broken connection here. Bridge thread only. */
    protected void failed(IOException e, long retryInMillis) {
        health.error(describe(e));
        health.connected(false);
    }

    /** The loop ended (the bridge is closing); still on the bridge's thread. */
    protected void loopEnded() {
    }

    /**
     * After the thread stopped (or did not, within its bounded wait): release the backend.
     *
     * @param started     whether {@link #start()} had succeeded
     * @param threadEnded whether the bridge's thread is gone (its resources may be touched)
     */
    protected void released(boolean started, boolean threadEnded) {
    }

    // ---------------------------------------------------------------- lifecycle

    @Override
    public final void start() {
        synchronized (lifecycle) {
            if (thread != null) {
                throw new IllegalStateException(kind() + " bridge already started");
            }
            open();
            health.connected(true);
            thread = new Thread(this::run, "tlsjail-bridge-" + threadName());
            thread.setDaemon(true);
            thread.start();
        }
    }

    @Override
    public final void close() {
        Thread t;
        synchronized (lifecycle) {
            t = thread;
            pending.close();
            stopping.countDown();
        }
        if (t != null) {
            try {
                t.join(pacing.stopWait().toMillis());
                if (t.isAlive()) {
                    t.interrupt();
                    t.join(1_000);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (lifecycle) {
            released(t != null, t == null || !t.isAlive());
            health.connected(false);
        }
    }

    /** The next round reconciles first (e.g. after a reconnect: the backend may have lost everything). */
    protected final void requestReconcile() {
        reconcileRequested = true;
    }

    protected final boolean isStopping() {
        return stopping.getCount() == 0;
    }

    // ---------------------------------------------------------------- the bridge's thread

    private void run() {
        long retryMin = pacing.retryMin().toMillis();
        long backoff = retryMin;
        long nextReconcile = System.nanoTime() + pacing.reconcileInterval().toNanos();
        try {
            while (stopping.getCount() > 0) {
                try {
                    if (connectIfNeeded()) {
                        backoff = retryMin;
                    }
                    if (reconciles() && (reconcileRequested || System.nanoTime() - nextReconcile >= 0)) {
                        reconcile();
                        reconcileRequested = false;
                        nextReconcile = System.nanoTime() + pacing.reconcileInterval().toNanos();
                    }
                    List<Map.Entry<K, C>> batch = pending.drain(pacing.batch());
                    if (batch.isEmpty()) {
                        pending.awaitWork(reconciles()
                                ? Math.max(1, TimeUnit.NANOSECONDS.toMillis(nextReconcile - System.nanoTime()))
                                : pacing.reconcileInterval().toMillis());
                        continue;
                    }
                    apply(batch);
                    health.connected(true);
                    backoff = retryMin;
                } catch (InterruptedException e) {
                    return;
                } catch (IOException | RuntimeException e) {
                    if (e instanceof RuntimeException) {
                        // a bug must not end the bridge silently, nor spin: the queue stays, the next round retries
                        LOG.error("{} bridge: unexpected failure", kind(), e);
                    }
                    failed(e instanceof IOException io ? io : new IOException(describe(e), e), backoff);
                    if (sleep(backoff)) {
                        return;
                    }
                    backoff = Math.min(pacing.retryMax().toMillis(), backoff * 2);
                }
            }
        } finally {
            loopEnded();
        }
    }

    /** Waits {@code millis} or until close; true if the bridge is closing. */
    private boolean sleep(long millis) {
        try {
            return stopping.await(millis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            return true;
        }
    }

    /** An exception as one line: its type and message. */
    protected static String describe(Throwable e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }
}
