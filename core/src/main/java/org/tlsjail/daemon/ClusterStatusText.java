package org.tlsjail.daemon;

import org.tlsjail.cluster.ClusterStatus;

/** The cluster lines of {@code tlsjail status}. */
final class ClusterStatusText {
    private ClusterStatusText() {
    }

    static void append(StringBuilder sb, ClusterStatus c) {
        sb.append("cluster:         node ").append(c.node()).append(", Redis ").append(c.redis()).append(", ")
                .append(c.connected() ? "connected" : "NOT CONNECTED: counting and banning locally").append('\n');
        sb.append("cluster nodes:   ").append(c.connected() ? String.join(" ", c.nodesSeen()) + " (seen in the last 15 s)"
                : "unknown").append('\n');
        sb.append("cluster events:  in ").append(c.eventsIn()).append(", out ").append(c.eventsOut())
                .append(", behind ").append(c.eventsBehind() < 0 ? "unknown" : Long.toString(c.eventsBehind()))
                .append(", pending ").append(c.pending()).append(", invalid skipped ").append(c.invalid()).append('\n');
        sb.append("cluster failures: shared ").append(c.failuresSent()).append(", local only ").append(c.failuresLocal())
                .append('\n');
        sb.append("cluster errors:  ").append(c.redisErrors())
                .append(c.lastError() == null ? "" : ", last: " + c.lastError()).append('\n');
    }
}
