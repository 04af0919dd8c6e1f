package org.tlsjail.cluster;

/**
 * The Lua scripts Redis runs atomically. Times are epoch milliseconds from the calling node's
 * clock (nodes are expected to run NTP); a ban or unban carries the time it was decided, so a
 * decision replayed after an outage is ordered against the others by that time.
 *
 * <p>Ban set: sorted set {@code bans} (member: source key, score: end time; permanent =
 * {@link #PERMANENT_SCORE}) with details in hash {@code ban-info} ("since|until|count|node|reason").
 * An unban leaves a tombstone (sorted set {@code unbans}, score: its time) for
 * {@code tombstone-retention}, so an older ban arriving later cannot undo it.
 */
final class Scripts {
    /** Score of a permanent ban: 9999-12-31, far beyond any finite ban and exact in a double. */
    static final long PERMANENT_SCORE = 253_402_300_799_000L;

    private Scripts() {
    }

    /**
     * KEYS: window, bans. ARGV: now, findtime ms, maxretry, member prefix (unique per failure),
     * weight, source key. Returns -1 if the source is banned in the cluster already, else the
     * number of failures in the window after this one (the window is cleared when it reaches
     * maxretry: the caller bans).
     */
    static final String FAILURE = """
            local now = tonumber(ARGV[1])
            local banned = redis.call('ZSCORE', KEYS[2], ARGV[6])
            if banned and tonumber(banned) and tonumber(banned) > now then return -1 end
            redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
            local w = tonumber(ARGV[5])
            for i = 1, w do redis.call('ZADD', KEYS[1], now, ARGV[4] .. ':' .. i) end
            local n = redis.call('ZCARD', KEYS[1])
            if n >= tonumber(ARGV[3]) then
              redis.call('DEL', KEYS[1])
            else
              redis.call('PEXPIRE', KEYS[1], ARGV[2])
            end
            return n
            """;

    private static final String DECIDED = """
            local function decided(info)
              if not info then return nil end
              return tonumber(string.match(info, '^(%d+)|'))
            end
            """;

    /**
     * KEYS: bans, ban-info, unbans, events. ARGV: source key, since, until (-1 permanent), count,
     * node, reason, stream length, now, tombstone retention ms. Returns 1 if recorded and announced,
     * 0 if Redis has this ban or a later one already, -2 if a later unban supersedes it.
     */
    static final String BAN = DECIDED + """
            local k = ARGV[1]
            local since = tonumber(ARGV[2])
            local t = redis.call('ZSCORE', KEYS[3], k)
            if t and tonumber(t) and tonumber(t) > since then return -2 end
            if redis.call('ZSCORE', KEYS[1], k) then
              local d = decided(redis.call('HGET', KEYS[2], k))
              if d and d >= since then return 0 end
            end
            local score = ARGV[3]
            if score == '-1' then score = '""" + PERMANENT_SCORE + """
            ' end
            redis.call('ZADD', KEYS[1], score, k)
            redis.call('HSET', KEYS[2], k, ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[4] .. '|' .. ARGV[5] .. '|' .. ARGV[6])
            redis.call('ZREM', KEYS[3], k)
            redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[7], '*', 't', 'ban', 'k', k, 's', ARGV[2], 'u', ARGV[3],
              'c', ARGV[4], 'n', ARGV[5], 'r', ARGV[6])
            local now = tonumber(ARGV[8])
            local ended = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 100)
            for _, e in ipairs(ended) do
              redis.call('ZREM', KEYS[1], e)
              redis.call('HDEL', KEYS[2], e)
            end
            redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[9]))
            return 1
            """;

    /**
     * KEYS: bans, ban-info, unbans, events. ARGV: source key, at, node, stream length. Returns 1 if
     * recorded and announced, 0 if a later ban or unban of that source supersedes it.
     */
    static final String UNBAN = DECIDED + """
            local k = ARGV[1]
            local at = tonumber(ARGV[2])
            if redis.call('ZSCORE', KEYS[1], k) then
              local d = decided(redis.call('HGET', KEYS[2], k))
              if d and d > at then return 0 end
            end
            local t = redis.call('ZSCORE', KEYS[3], k)
            if t and tonumber(t) and tonumber(t) >= at then return 0 end
            redis.call('ZREM', KEYS[1], k)
            redis.call('HDEL', KEYS[2], k)
            redis.call('ZADD', KEYS[3], at, k)
            redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 't', 'unban', 'k', k, 's', ARGV[2], 'n', ARGV[3])
            return 1
            """;

    // ---------------------------------------------------------------- bounded reads
    // Whoever can write under the prefix can make any value up to Redis' 512 MB: a plain read
    // (XREVRANGE, ZREVRANGEBYSCORE, HMGET) would bring it into the node, time out, and be retried
    // at every reconnect, splitting the node from the cluster for good. These reads filter
    // inside Redis and return ids, counts and values no longer than a node ever writes.

    /**
     * KEYS: events. Returns the id of the newest stream entry, or "0-0": only the id leaves Redis,
     * never the entry's body (which may be a planted 500 MB value).
     */
    static final String NEWEST_ID = """
            local r = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
            if #r == 0 then return '0-0' end
            return r[1][1]
            """;

    /** KEYS: events. ARGV: id (exclusive), limit. Returns how many entries follow the id, at most limit. */
    static final String COUNT_AFTER = """
            return #redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', tonumber(ARGV[2]))
            """;

    /**
     * KEYS: bans, ban-info. ARGV: now, limit, longest member, longest info. Returns member, info,
     * member, info, ... for the bans ending after now, latest first; a member or info longer than
     * allowed comes back as "" (skipped and counted by the caller).
     */
    static final String BANS_BOUNDED = """
            local ms = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
            local out = {}
            for _, m in ipairs(ms) do
              if #m > tonumber(ARGV[3]) then
                out[#out + 1] = ''
                out[#out + 1] = ''
              else
                local info = redis.call('HGET', KEYS[2], m)
                if not info or #info > tonumber(ARGV[4]) then info = '' end
                out[#out + 1] = m
                out[#out + 1] = info
              end
            end
            return out
            """;

    /** KEYS: nodes. ARGV: lowest score, limit, longest name. Returns the names seen since, the long ones left out. */
    static final String NODES_BOUNDED = """
            local ns = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf', 'LIMIT', 0, tonumber(ARGV[2]))
            local out = {}
            for _, n in ipairs(ns) do
              if #n <= tonumber(ARGV[3]) then out[#out + 1] = n end
            end
            return out
            """;
}
