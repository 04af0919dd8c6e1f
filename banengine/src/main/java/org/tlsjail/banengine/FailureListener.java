package org.tlsjail.banengine;

/**
 * Told of every failure the engine counts (not of ignored sources, nor of sources banned already),
 * so something outside the engine, such as a cluster sharing one failure window, can count it too.
 *
 * <p>Called on the thread that reports the failure, usually a handshake thread: an implementation
 * must return at once (hand the event to its own queue) and must never block or call back into
 * the engine. An exception thrown here is caught and logged; the failure stays counted.
 */
@FunctionalInterface
public interface FailureListener {

    /**
     * @param key      the source as the engine counts it (address masked to the prefix)
     * @param weight   how many failures this one counts for (at least 1)
     * @param atMillis when, in the engine's clock (epoch milliseconds)
     */
    void onFailure(SourceKey key, int weight, long atMillis);
}
