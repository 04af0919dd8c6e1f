package org.tlsjail.banengine;

import java.time.Instant;

/**
 * One ban as the engine holds it.
 *
 * @param key      the banned source (address or prefix)
 * @param since    when the ban started (for an automatic ban: the failure that triggered it)
 * @param until    when it ends, or {@code null} for a permanent ban
 * @param banCount how many bans of this source the engine remembers, this one included
 * @param reason   why: the last failure's reason, or "manual"
 */
public record BanRecord(SourceKey key, Instant since, Instant until, int banCount, String reason) {

    public boolean isPermanent() {
        return until == null;
    }

    long untilMillis() {
        return until == null ? Long.MAX_VALUE : until.toEpochMilli();
    }
}
