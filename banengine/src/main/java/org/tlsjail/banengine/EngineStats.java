package org.tlsjail.banengine;

/**
 * Counters since the engine was created.
 *
 * @param trackedKeys  sources with failures in their window right now (approximate)
 * @param activeBans   bans in force right now
 * @param failures     failures counted (weights summed), ignored and already-banned sources excluded
 * @param bans         bans made, automatic and manual
 * @param unbans       bans ended, for any reason
 * @param evictions    failure histories dropped because max-tracked was reached
 * @param bansDropped  bans dropped because max-bans was reached
 */
public record EngineStats(long trackedKeys, int activeBans, long failures, long bans, long unbans,
                          long evictions, long bansDropped) {
}
