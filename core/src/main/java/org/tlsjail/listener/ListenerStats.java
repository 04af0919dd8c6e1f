package org.tlsjail.listener;

/** Counters of one listener since it started. */
public record ListenerStats(
        long accepted,
        long refusedBanned,
        long refusedOverLimit,
        long handshakesSucceeded,
        long handshakesFailed,
        int handshakesInProgress) {
}
