package org.tlsjail.listener;

/**
 * Counters of the PROXY header stage since the listener started.
 *
 * @param refusedUntrusted connections reset because their peer is not in {@code trusted-proxies}
 * @param headerFailures   connections closed for a missing, malformed, truncated or late header
 * @param awaitingHeader   connections whose header is being read right now
 */
public record ProxyHeaderStats(long refusedUntrusted, long headerFailures, int awaitingHeader) {
}
