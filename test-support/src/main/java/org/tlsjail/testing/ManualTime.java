package org.tlsjail.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Delayed;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Time a test moves by hand: a monotonic ticker (nanoseconds, as {@link System#nanoTime()}) and a
 * {@link ScheduledExecutorService} whose tasks run only when {@link #advance} reaches their time,
 * on the thread calling it. Given to a component in place of its ticker and scheduler, its
 * timeouts happen exactly when the test says, never because the machine was slow.
 *
 * <p>A periodic task whose time was passed runs once per {@link #advance} (as a late fixed-delay
 * task would), and is next due one period after the advanced time.
 */
public final class ManualTime {
    /** Not zero: code may use 0 or a small value as "never"; and far from overflow. */
    private static final long START = 1_000_000_000_000L;

    private final Object lock = new Object();
    private final PriorityQueue<Task<?>> queue = new PriorityQueue<>();
    private long now = START;
    private long sequence;
    private boolean shutdown;
    private final Scheduler scheduler = new Scheduler();

    /** The ticker: nanoseconds, moved only by {@link #advance}. */
    public LongSupplier ticker() {
        return this::nanoTime;
    }

    public long nanoTime() {
        synchronized (lock) {
            return now;
        }
    }

    public ScheduledExecutorService scheduler() {
        return scheduler;
    }

    /** Tasks waiting for their time (periodic ones included). */
    public int pending() {
        synchronized (lock) {
            return (int) queue.stream().filter(t -> !t.isDone()).count();
        }
    }

    /**
     * Moves time forward by {@code d}, then runs every task whose time has come, oldest due first,
     * on this thread. Returns how many ran.
     */
    public int advance(Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException("time only moves forward: " + d);
        }
        List<Task<?>> due = new ArrayList<>();
        synchronized (lock) {
            now += d.toNanos();
            while (!queue.isEmpty() && queue.peek().dueNanos - now <= 0) {
                due.add(queue.poll());
            }
        }
        int ran = 0;
        for (Task<?> t : due) {
            if (t.isDone()) {
                continue;
            }
            t.run();
            ran++;
            if (t.periodNanos > 0 && !t.isDone()) {
                synchronized (lock) {
                    if (!shutdown) {
                        t.dueNanos = now + t.periodNanos;
                        queue.add(t);
                    }
                }
            }
        }
        return ran;
    }

    private <V> Task<V> add(Callable<V> work, long delay, long period, TimeUnit unit) {
        synchronized (lock) {
            if (shutdown) {
                throw new java.util.concurrent.RejectedExecutionException("manual scheduler shut down");
            }
            Task<V> t = new Task<>(work, now + unit.toNanos(Math.max(0, delay)), unit.toNanos(period), sequence++);
            queue.add(t);
            return t;
        }
    }

    private final class Task<V> implements ScheduledFuture<V>, Runnable {
        private final Callable<V> work;
        private final long periodNanos;
        private final long seq;
        long dueNanos;
        private volatile boolean cancelled;
        private volatile boolean done;
        private V result;
        private Throwable failure;

        Task(Callable<V> work, long dueNanos, long periodNanos, long seq) {
            this.work = work;
            this.dueNanos = dueNanos;
            this.periodNanos = periodNanos;
            this.seq = seq;
        }

        @Override
        public void run() {
            try {
                V v = work.call();
                if (periodNanos == 0) {
                    result = v;
                    done = true;
                }
            } catch (Throwable e) {
                // as ScheduledThreadPoolExecutor: a task that throws is not run again
                failure = e;
                done = true;
            }
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(dueNanos - nanoTime(), TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed o) {
            Task<?> other = (Task<?>) o;
            int c = Long.compare(dueNanos, other.dueNanos);
            return c != 0 ? c : Long.compare(seq, other.seq);
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            if (done) {
                return false;
            }
            cancelled = true;
            done = true;
            synchronized (lock) {
                queue.remove(this);
            }
            return true;
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }

        @Override
        public boolean isDone() {
            return done;
        }

        @Override
        public V get() throws ExecutionException {
            if (cancelled) {
                throw new CancellationException();
            }
            if (!done) {
                throw new IllegalStateException("a manual task runs only when the test advances time");
            }
            if (failure != null) {
                throw new ExecutionException(failure);
            }
            return result;
        }

        @Override
        public V get(long timeout, TimeUnit unit) throws ExecutionException {
            return get();
        }
    }

    private final class Scheduler extends AbstractExecutorService implements ScheduledExecutorService {
        @Override
        public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
            return add(() -> {
                command.run();
                return null;
            }, delay, 0, unit);
        }

        @Override
        public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
            return add(callable, delay, 0, unit);
        }

        @Override
        public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
            return scheduleWithFixedDelay(command, initialDelay, period, unit);
        }

        @Override
        public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
            if (delay <= 0) {
                throw new IllegalArgumentException("period " + delay);
            }
            return add(() -> {
                command.run();
                return null;
            }, initialDelay, delay, unit);
        }

        /** Runs at the next {@link #advance} (even by zero). */
        @Override
        public void execute(Runnable command) {
            schedule(command, 0, TimeUnit.NANOSECONDS);
        }

        @Override
        public void shutdown() {
            synchronized (lock) {
                shutdown = true;
            }
        }

        @Override
        public List<Runnable> shutdownNow() {
            synchronized (lock) {
                shutdown = true;
                List<Runnable> left = new ArrayList<>(queue);
                queue.clear();
                return left;
            }
        }

        @Override
        public boolean isShutdown() {
            synchronized (lock) {
                return shutdown;
            }
        }

        @Override
        public boolean isTerminated() {
            return isShutdown();
        }

        @Override
        public boolean awaitTermination(long timeout, TimeUnit unit) {
            return isShutdown();
        }
    }
}
