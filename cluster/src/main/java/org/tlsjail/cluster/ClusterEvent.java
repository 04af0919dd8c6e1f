package org.tlsjail.cluster;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.tlsjail.banengine.BanRecord;
import org.tlsjail.banengine.SourceKey;

/**
 * A ban or unban as read back from Redis (a stream entry, or a ban-set member with its details).
 * Everything in Redis is untrusted: whoever can write there could have put anything, so
 * {@link #parseStream} and {@link #parseBanInfo} return null for anything malformed, oversized or
 * absurd, and the caller counts it and moves on.
 *
 * @param until null for a permanent ban; unused for an unban
 */
record ClusterEvent(boolean ban, SourceKey key, long since, Instant until, int count, String node, String reason) {

    /** The longest finite ban accepted from Redis: what a node can make itself; longer is garbage (permanent is -1). */
    static final Duration MAX_BAN = org.tlsjail.banengine.FailDuration.LONGEST;
    /** How far in the future a decision time may lie (clock skew between nodes). */
    static final long MAX_SKEW_MILLIS = Duration.ofMinutes(5).toMillis();
    private static final int MAX_FIELDS = 16;
    private static final int MAX_REASON = 128;
    /** Longest source key ("2001:db8:1:2:3:4:5:6/128" is 43). */
    static final int MAX_KEY = 64;
    /** Longest ban-info value ("since|until|count|node|reason" is at most about 230). */
    static final int MAX_INFO = 512;

    BanRecord record() {
        return new BanRecord(key, Instant.ofEpochMilli(since), until, count, reason);
    }

    /** A stream entry ({@code t k s u c n r}), or null if it is not a valid one. */
    static ClusterEvent parseStream(Map<String, String> body, long now) {
        if (body == null || body.size() > MAX_FIELDS) {
            return null;
        }
        String type = body.get("t");
        if ("ban".equals(type)) {
            return parse(true, body.get("k"), body.get("s"), body.get("u"), body.get("c"), body.get("n"), body.get("r"), now);
        }
        if ("unban".equals(type)) {
            return parse(false, body.get("k"), body.get("s"), null, null, body.get("n"), null, now);
        }
        return null;
    }

    /** A ban-set member and its {@code ban-info} value ("since|until|count|node|reason"), or null. */
    static ClusterEvent parseBanInfo(String key, String info, long now) {
        if (key == null || info == null || info.length() > MAX_INFO) {
            return null;
        }
        String[] f = info.split("\\|", 5);
        if (f.length != 5) {
            return null;
        }
        return parse(true, key, f[0], f[1], f[2], f[3], f[4], now);
    }

    private static ClusterEvent parse(boolean ban, String keyText, String sinceText, String untilText, String countText,
                                      String node, String reason, long now) {
        if (keyText == null || keyText.length() > MAX_KEY || node == null
                || !ClusterSettings.NODE_NAME.matcher(node).matches()) {
            return null;
        }
        SourceKey key;
        try {
            key = SourceKey.parse(keyText);
        } catch (RuntimeException e) {
            return null;
        }
        if (!key.toString().equals(keyText)) {
            return null; // only the canonical form a node writes: no host bits set below the prefix
        }
        long since = millis(sinceText);
        if (since <= 0 || since > now + MAX_SKEW_MILLIS) {
            return null;
        }
        if (!ban) {
            return new ClusterEvent(false, key, since, null, 0, node, "");
        }
        Instant until = null;
        if (!"-1".equals(untilText)) {
            long u = millis(untilText);
            if (u <= since || u - since > MAX_BAN.toMillis()) {
                return null;
            }
            until = Instant.ofEpochMilli(u);
        }
        long count = millis(countText);
        if (count < 1 || count > 1_000_000) {
            return null;
        }
        if (reason == null || reason.length() > MAX_REASON) {
            return null;
        }
        return new ClusterEvent(true, key, since, until, (int) count, node, printable(reason));
    }

    /** A non-negative decimal of at most 15 digits, or -1. */
    private static long millis(String text) {
        if (text == null || text.isEmpty() || text.length() > 15) {
            return -1;
        }
        long v = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }

    /** Printable ASCII only: a reason ends up in logs and listings. */
    static String printable(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length() && sb.length() < MAX_REASON; i++) {
            char c = s.charAt(i);
            sb.append(c >= 0x20 && c < 0x7f && c != '|' ? c : '?');
        }
        return sb.toString();
    }
}
