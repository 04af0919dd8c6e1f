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
