package org.tlsjail.banengine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * Replays a ban journal: streams it in 64 KiB reads, parses each line in place (no String per
 * line, no address lookups), checks its CRC and then what it says, and keeps the bans a start
 * would restore. Only a record that passes every check becomes an object.
 *
 * <p>Checks on a ban record, against the configuration it is replayed under: the key is a
 * well-formed address whose prefix is the configured ban unit ({@code ipv4-prefix} or
 * {@code ipv6-prefix}; any other would never match a lookup); the ban count is at least 1; the
 * start is after 1970 and not more than a day ahead of now; the end is -1 (permanent) or after
 * the start and no later than now plus the longest ban tlsjail makes (100 years, or a longer
 * bantime). Everything else is skipped and counted.
 *
 * <p>Memory is bounded by max-bans, not by the file: when more bans are held than twice
 * max-bans, the ended ones are dropped and then all but the max-bans ending latest (what the
 * engine itself would keep).
 */
final class JournalReader {
    static final int MAX_LINE = 4096;
    /** A record's start may be this far ahead of now (a clock set back across a restart). */
    static final long SINCE_SKEW_MILLIS = 86_400_000L;

    private final long now;
    private final int v4Prefix;
    private final int v6Prefix;
    private final long latestEnd;
    private final int maxBans;

    private final byte[] line = new byte[MAX_LINE];
    private final CRC32 crc = new CRC32();
    private final Map<SourceKey, BanRecord> state = new LinkedHashMap<>(); // file order, as restored

    // parse results (fields, to avoid allocation per line)
    private int pos;
    private int end;
    private long keyHi;
    private long keyLo;
    private int keyPrefix;
    private boolean keyV4;

    int lineNumber;
    int corrupt;
    int invalid;
    int expired;
    int overCap;
    String firstProblem;

    JournalReader(JailConfig config, long now) {
        this.now = now;
        this.v4Prefix = config.ipv4Prefix();
        this.v6Prefix = config.ipv6Prefix();
        long longest = Math.max(FailDuration.LONGEST.toMillis(),
                Math.max(config.banTime().toMillis(), config.increment().maxTime().toMillis()));
        this.latestEnd = now + longest + SINCE_SKEW_MILLIS;
        this.maxBans = config.maxBans();
    }

    /** Reads the whole channel; returns the bans still in force, at most max-bans, in file order. */
    List<BanRecord> read(FileChannel ch) throws IOException {
        byte[] chunk = new byte[65536];
        ByteBuffer buf = ByteBuffer.wrap(chunk);
        int n = 0;
        boolean overlong = false;
        int got;
        while ((got = ch.read(buf)) >= 0) {
            for (int i = 0; i < got; i++) {
                byte b = chunk[i];
                if (b == '\n') {
                    line(n, overlong);
                    n = 0;
                    overlong = false;
                } else if (n < MAX_LINE) {
                    line[n++] = b;
                } else {
                    overlong = true;
                }
            }
            buf.clear();
        }
        if (n > 0 || overlong) {
            line(n, overlong); // a last line without '\n': a torn write, caught by its checksum
        }
        prune(maxBans);
        List<BanRecord> out = new ArrayList<>(state.size());
        for (BanRecord r : state.values()) {
            if (r.untilMillis() > now) {
                out.add(r);
            } else {
                expired++;
            }
        }
        return out;
    }

    private void line(int n, boolean overlong) {
        lineNumber++;
        if (n == 0 && !overlong) {
            return;
        }
        String problem = overlong ? "longer than " + MAX_LINE + " bytes" : apply(n);
        if (problem != null) {
            if (problem.startsWith("invalid")) {
                invalid++;
            } else {
                corrupt++;
            }
            if (firstProblem == null) {
                firstProblem = "line " + lineNumber + ": " + problem;
            }
        }
    }

    /** Applies one line; returns why it was skipped ("invalid ..." for a sound but unacceptable record), or null. */
    private String apply(int n) {
        // "<body> #xxxxxxxx": the checksum covers the body
        if (n < 11 || line[n - 10] != ' ' || line[n - 9] != '#') {
            return "no checksum (torn write?)";
        }
        long sum = 0;
        for (int i = n - 8; i < n; i++) {
            int d = Character.digit(line[i], 16);
            if (d < 0 || (line[i] >= 'A' && line[i] <= 'F')) {
                return "no checksum (torn write?)";
            }
            sum = sum << 4 | d;
        }
        end = n - 10;
        crc.reset();
        crc.update(line, 0, end);
        if (crc.getValue() != sum) {
            return "checksum mismatch";
        }
        pos = 0;
        if (end >= 2 && line[0] == 'B' && line[1] == ' ') {
            pos = 2;
            return banRecord();
        }
        if (end >= 2 && line[0] == 'U' && line[1] == ' ') {
            pos = 2;
            if (!key() || !space()) {
                return "unreadable record: bad address";
            }
            number();
            if (pos != end) {
                return "unreadable record";
            }
            state.remove(currentKey());
            return null;
        }
        return "unknown record type";
    }

    private String banRecord() {
        if (!key() || !space()) {
            return "unreadable record: bad address";
        }
        long since = number();
        if (!space()) {
            return "unreadable record: bad start";
        }
        long until = number();
        if (!space()) {
            return "unreadable record: bad end";
        }
        long count = number();
        if (!space()) {
            return "unreadable record: bad ban count";
        }
        int reasonStart = pos;
        while (pos < end && line[pos] != ' ') {
            pos++;
        }
        if (pos != end || pos == reasonStart) {
            return "unreadable record: bad reason";
        }
        int unit = keyV4 ? 96 + v4Prefix : v6Prefix;
        if (keyPrefix != unit) {
            return "invalid: prefix /" + (keyV4 ? keyPrefix - 96 : keyPrefix) + " is not the configured ban unit /"
                    + (keyV4 ? v4Prefix : v6Prefix);
        }
        if (count < 1 || count > Integer.MAX_VALUE) {
            return "invalid: ban count " + count;
        }
        if (since <= 0 || since > now + SINCE_SKEW_MILLIS) {
            return "invalid: start " + since + " is not between 1970 and now";
        }
        if (until != -1 && (until <= since || until > latestEnd)) {
            return "invalid: end " + until + " is not after the start and within the longest ban";
        }
        String reason;
        int len = pos - reasonStart;
        if (lastReason != null && len == lastReasonWord.length
                && java.util.Arrays.equals(line, reasonStart, pos, lastReasonWord, 0, len)) {
            reason = lastReason; // journals repeat a handful of reasons: decode each run once
        } else {
            try {
                reason = unword(new String(line, reasonStart, len, StandardCharsets.ISO_8859_1));
            } catch (IllegalArgumentException e) {
                return "unreadable record: bad reason";
            }
            lastReasonWord = java.util.Arrays.copyOfRange(line, reasonStart, pos);
            lastReason = reason;
        }
        SourceKey key = currentKey();
        state.put(key, new BanRecord(key, Instant.ofEpochMilli(since), until == -1 ? null : Instant.ofEpochMilli(until),
                (int) count, reason));
        if (state.size() > 2 * maxBans) {
            prune(maxBans);
        }
        return null;
    }

    /** Drops ended bans, then all but the {@code keep} ending latest (ties: the later in the file stay). */
    private void prune(int keep) {
        int before = state.size();
        state.values().removeIf(r -> r.untilMillis() <= now);
        expired += before - state.size();
        int over = state.size() - keep;
        if (over <= 0) {
            return;
        }
        // the keep-th latest end, found on primitives (sorting the records cost more than the replay)
        long[] ends = new long[state.size()];
        int n = 0;
        for (BanRecord r : state.values()) {
            ends[n++] = r.untilMillis();
        }
        java.util.Arrays.sort(ends);
        long threshold = ends[over]; // bans ending before it go; of those ending at it, the first ones go
        int atThresholdToDrop = 0;
        for (int i = over - 1; i >= 0 && ends[i] == threshold; i--) {
            atThresholdToDrop++;
        }
        var it = state.values().iterator();
        while (it.hasNext()) {
            long u = it.next().untilMillis();
            if (u < threshold || (u == threshold && atThresholdToDrop-- > 0)) {
                it.remove();
            }
        }
        overCap += over;
    }

    static String unword(String word) {
        return word.equals("-") ? "" : java.net.URLDecoder.decode(word, StandardCharsets.UTF_8);
    }

    private SourceKey currentKey() {
        return new SourceKey(keyHi, keyLo, keyPrefix);
    }

    private boolean space() {
        if (pos < end && line[pos] == ' ') {
            pos++;
            return true;
        }
        return false;
    }

    /** A decimal long with an optional '-'; garbage or overflow reads as Long.MIN_VALUE (rejected by every check). */
    private long number() {
        boolean negative = pos < end && line[pos] == '-';
        if (negative) {
            pos++;
        }
        int start = pos;
        long v = 0;
        while (pos < end && line[pos] >= '0' && line[pos] <= '9') {
            if (pos - start >= 18) {
                v = Long.MIN_VALUE; // 19+ digits: out of any sane range
            } else if (v != Long.MIN_VALUE) {
                v = v * 10 + (line[pos] - '0');
            }
            pos++;
        }
        if (pos == start || v == Long.MIN_VALUE) {
            return Long.MIN_VALUE;
        }
        return negative ? -v : v;
    }

    /** Parses an address (dotted IPv4 or RFC 5952 IPv6) with an optional "/prefix" into the key fields. */
    private boolean key() {
        int start = pos;
        boolean colon = false;
        while (pos < end && line[pos] != ' ' && line[pos] != '/') {
            colon |= line[pos] == ':';
            pos++;
        }
        int addrEnd = pos;
        int prefix = -1;
        if (pos < end && line[pos] == '/') {
            pos++;
            int ps = pos;
            prefix = 0;
            while (pos < end && line[pos] >= '0' && line[pos] <= '9' && pos - ps < 3) {
                prefix = prefix * 10 + (line[pos++] - '0');
            }
            if (pos == ps) {
                return false;
            }
        }
        if (colon) {
            if (!ipv6(start, addrEnd) || prefix > 128) {
                return false;
            }
            int p = prefix < 0 ? 128 : prefix;
            keyPrefix = p;
            keyV4 = false;
            // the canonical key is masked: a record with host bits set is not one tlsjail wrote
            return (keyHi & ~Masks.hi(p)) == 0 && (keyLo & ~Masks.lo(p)) == 0 && !isMappedV4(keyHi, keyLo);
        }
        long v4 = ipv4(start, addrEnd);
        if (v4 < 0 || prefix > 32) {
            return false;
        }
        int p = prefix < 0 ? 32 : prefix;
        if ((v4 & ~Masks.v4(p) & 0xFFFF_FFFFL) != 0) {
            return false;
        }
        keyHi = 0;
        keyLo = SourceKey.V4_MAPPED | v4;
        keyPrefix = 96 + p;
        keyV4 = true;
        return true;
    }

    private static boolean isMappedV4(long hi, long lo) {
        return hi == 0 && (lo >>> 32) == 0xFFFF;
    }

    private long ipv4(int from, int to) {
        long v = 0;
        int parts = 0;
        int i = from;
        while (i < to) {
            int s = i;
            int octet = 0;
            while (i < to && line[i] >= '0' && line[i] <= '9' && i - s < 3) {
                octet = octet * 10 + (line[i++] - '0');
            }
            if (i == s || octet > 255) {
                return -1;
            }
            v = v << 8 | octet;
            parts++;
            if (i < to) {
                if (line[i] != '.' || parts == 4) {
                    return -1;
                }
                i++;
                if (i == to) {
                    return -1;
                }
            }
        }
        return parts == 4 ? v : -1;
    }

    /** Hex groups separated by ':', at most one "::"; no embedded IPv4 (tlsjail never writes one). */
    private boolean ipv6(int from, int to) {
        long[] g = groups;
        int count = 0;
        int gap = -1;
        int i = from;
        if (to - from >= 2 && line[i] == ':' && line[i + 1] == ':') {
            gap = 0;
            i += 2;
        } else if (i < to && line[i] == ':') {
            return false;
        }
        while (i < to) {
            int s = i;
            int v = 0;
            while (i < to && i - s < 4 && Character.digit(line[i], 16) >= 0) {
                v = v << 4 | Character.digit(line[i++], 16);
            }
            if (i == s || count == 8) {
                return false;
            }
            g[count++] = v;
            if (i < to) {
                if (line[i] != ':') {
                    return false;
                }
                i++;
                if (i < to && line[i] == ':') {
                    if (gap >= 0) {
                        return false;
                    }
                    gap = count;
                    i++;
                } else if (i == to) {
                    return false;
                }
            }
        }
        if (gap < 0 ? count != 8 : count > 7) {
            return false;
        }
        long hi = 0;
        long lo = 0;
        int zeros = 8 - count;
        int k = 0;
        for (int j = 0; j < 8; j++) {
            long v;
            if (gap >= 0 && j >= gap && j < gap + zeros) {
                v = 0;
            } else {
                v = g[k++];
            }
            if (j < 4) {
                hi = hi << 16 | v;
            } else {
                lo = lo << 16 | v;
            }
        }
        keyHi = hi;
        keyLo = lo;
        return true;
    }

    private final long[] groups = new long[8];
    private byte[] lastReasonWord;
    private String lastReason;
}
