package org.tlsjail.cluster;

import java.util.List;

/**
 * What {@code tlsjail status} and the metrics show of the cluster.
 *
 * @param connected      Redis answers and this node is in sync with it
 * @param nodesSeen      nodes whose heartbeat Redis saw in the last 15 s (this one included)
 * @param eventsBehind   stream events not yet read (counted up to 1000), -1 if unknown
 * @param lastError      the last Redis error, or null
 * @param eventsIn       bans and unbans of other nodes applied here
 * @param eventsOut      bans and unbans of this node announced to the others
 * @param invalid        entries read from Redis and skipped as malformed or absurd
 * @param redisErrors    Redis requests that failed (timeouts, refused, errors)
 * @param failuresSent   failures counted in the shared window
 * @param failuresLocal  failures counted only locally (Redis unreachable or the queue full)
 * @param pending        failures, bans and unbans queued for Redis, or parked until it is back
 */
public record ClusterStatus(String node, String redis, boolean connected, List<String> nodesSeen, long eventsBehind,
                            String lastError, long eventsIn, long eventsOut, long invalid, long redisErrors,
                            long failuresSent, long failuresLocal, int pending) {
}
