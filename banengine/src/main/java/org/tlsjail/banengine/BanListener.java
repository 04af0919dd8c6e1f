package org.tlsjail.banengine;

/**
 * Told of every ban and unban, in the order they happen.
 *
 * <p>Called while the engine holds its write lock, so events arrive strictly ordered; in return a
 * listener must be quick and must not call back into the engine's write methods. Anything slow
 * (a socket, a subprocess) belongs on the listener's own queue and thread. An exception thrown
 * here is caught and logged; it never reaches the engine or the other listeners.
 */
public interface BanListener {

    void onBan(BanRecord ban);

    void onUnban(BanRecord ban, UnbanCause cause);

    /**
     * Called by the engine after it has released its lock, in the thread whose call (ban, unban,
     * the failure that banned) delivered events: returns once every event delivered to this
     * listener so far is durable. A listener that persists events on its own thread (the
     * {@link BanJournal}) waits here, so nothing slow happens under the engine's lock and the
     * engine's call still returns only after its record is on disk. Default: nothing to wait for.
     */
    default void awaitDurable() {
    }

    /** Why a ban ended. */
    enum UnbanCause {
        /** Its time ran out. */
        EXPIRED,
        /** An operator (or the embedding application) lifted it. */
        MANUAL,
        /** The ban table was full and this was the ban ending soonest. */
        DROPPED
    }
}
