package org.tlsjail.banengine;

/**
 * Counters since the engine was created.
 *
 * @param trackedKeys  sources with a failure history right now (exact; histories whose failures
 *                     have all left the window go at the next sweep)
 * @param activeBans   bans in force right now
 * @param failures     failures counted (weights summed), ignored and already-banned sources excluded
 * @param bans         bans made, automatic and manual
 * @param unbans       bans ended, for any reason
 * @param evictions    failure histories with failures still in their window dropped to make room
 *                     (max-tracked reached, or the new source's part of the table full)
 * @param bansDropped  bans dropped because max-bans was reached
 */
public record EngineStats(long trackedKeys, int activeBans, long failures, long bans, long unbans,
                          long evictions, long bansDropped) {
}
