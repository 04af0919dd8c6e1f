package org.tlsjail.listener;

/**
 * Counters of one listener since it started.
 *
 * @param handshakesInProgress connections held: parked at the first-flight gate or handshaking
 * @param handshakesStarted    handshakes past the gate right now (the server's flight sent or due)
 * @param waitingForSlot       parked with their ClientHello in, waiting for a handshake slot
 * @param waitedOut            reset uncounted: their ClientHello waited for a slot until its time ran out
 * @param serverTimeouts       handshakes that ran out of time while the server was the slow side
 *                             (not counted against the client)
 */
public record ListenerStats(
        long accepted,
        long refusedBanned,
        long refusedOverLimit,
        long handshakesSucceeded,
        long handshakesFailed,
        int handshakesInProgress,
        int handshakesStarted,
        int waitingForSlot,
        long waitedOut,
        long serverTimeouts) {
}
