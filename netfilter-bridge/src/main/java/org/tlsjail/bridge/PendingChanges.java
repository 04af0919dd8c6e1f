package org.tlsjail.bridge;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BinaryOperator;

/**
 * The bounded, per-key coalescing queue between the engine's lock and a bridge's thread.
 *
 * <p>A later change for a key replaces (or merges into) the queued one, so a flapping address costs
 * one entry, and the queue holds at most {@code capacity} distinct keys: past that, a change for a
 * new key is dropped and counted (a bridge's reconciliation repairs dropped bans later). Public only
 * because both backend packages use it; not part of the API the daemon needs.
 *
 * @param <K> what changes are coalesced by (an address)
 * @param <V> the change
 */
public final class PendingChanges<K, V> {
    private final int capacity;
    private final LinkedHashMap<K, V> queue = new LinkedHashMap<>();
    private long dropped;
    private boolean closed;

    public PendingChanges(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
        }
        this.capacity = capacity;
    }

    /**
     * Queues {@code change} for {@code key}, merged with a queued change by {@code merge(old, new)}.
     * Never blocks. Returns false if the queue is full (or closed) and the change was dropped.
     */
    public synchronized boolean offer(K key, V change, BinaryOperator<V> merge) {
        if (closed) {
            return false;
        }
        V old = queue.get(key);
        if (old != null) {
            queue.put(key, merge.apply(old, change));
        } else if (queue.size() >= capacity) {
            dropped++;
            return false;
        } else {
            queue.put(key, change);
        }
        notifyAll();
        return true;
    }

    /** Takes up to {@code max} changes, oldest first. */
    public synchronized List<Map.Entry<K, V>> drain(int max) {
        List<Map.Entry<K, V>> out = new ArrayList<>(Math.min(max, queue.size()));
        Iterator<Map.Entry<K, V>> it = queue.entrySet().iterator();
        while (it.hasNext() && out.size() < max) {
            Map.Entry<K, V> e = it.next();
            out.add(Map.entry(e.getKey(), e.getValue()));
            it.remove();
        }
        return out;
    }

    /**
     * Puts back changes that could not be applied. A change queued for the same key meanwhile is
     * newer and wins. May exceed the capacity by at most one drained batch, so nothing already
     * accepted is lost to a transient failure.
     */
    public synchronized void putBack(List<Map.Entry<K, V>> changes) {
        putBack(changes, (putBack, queued) -> queued);
    }

    /**
     * Puts back changes that could not be applied; where a change for the same key was queued
     * meanwhile, {@code merge(putBack, queued)} decides what stays queued. Needed where the newer
     * change does not include the older one (counted attempts: both must reach the backend).
     * Put-back changes keep their place ahead of the rest, as in {@link #putBack(List)}.
     */
    public synchronized void putBack(List<Map.Entry<K, V>> changes, BinaryOperator<V> merge) {
        if (changes.isEmpty()) {
            return;
        }
        LinkedHashMap<K, V> merged = new LinkedHashMap<>();
        for (Map.Entry<K, V> e : changes) {
            V queued = queue.remove(e.getKey());
            merged.put(e.getKey(), queued == null ? e.getValue() : merge.apply(e.getValue(), queued));
        }
        merged.putAll(queue);
        queue.clear();
        queue.putAll(merged);
    }

    /** Waits until something is queued, the queue is closed, or {@code millis} passed. */
    public synchronized void awaitWork(long millis) throws InterruptedException {
        if (queue.isEmpty() && !closed && millis > 0) {
            wait(millis);
        }
    }

    /** Wakes the waiting thread without queueing anything (it has other work, e.g. a reconciliation). */
    public synchronized void wake() {
        notifyAll();
    }

    /** Refuses further changes and wakes the waiting thread. */
    public synchronized void close() {
        closed = true;
        notifyAll();
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    public synchronized int size() {
        return queue.size();
    }

    public synchronized long dropped() {
        return dropped;
    }
}
