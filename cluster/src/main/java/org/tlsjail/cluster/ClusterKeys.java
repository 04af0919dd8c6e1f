package org.tlsjail.cluster;

/**
 * The Redis keys of one cluster. All carry the hash tag {@code {prefix}}, so on Redis Cluster they
 * live in one slot and every script may touch them together.
 */
final class ClusterKeys {
    final String bans;
    final String meta;
    final String tombstones;
    final String events;
    final String nodes;
    private final String windowPrefix;

    ClusterKeys(String prefix) {
        String tag = "{" + prefix + "}:";
        bans = tag + "bans";
        meta = tag + "ban-info";
        tombstones = tag + "unbans";
        events = tag + "events";
        nodes = tag + "nodes";
        windowPrefix = tag + "window:";
    }

    /** The failure window (sorted set of failure times) of one source key. */
    String window(String sourceKey) {
        return windowPrefix + sourceKey;
    }
}
