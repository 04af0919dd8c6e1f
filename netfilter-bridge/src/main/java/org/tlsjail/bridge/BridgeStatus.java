package org.tlsjail.bridge;

import java.time.Instant;

/**
 * What {@code tlsjail status} shows for one bridge.
 *
 * @param name        the backend and its target, e.g. {@code fail2ban jail os4x} or
 *                    {@code nftables inet tlsjail}
 * @param connected   true while the backend answered the last request
 * @param pending     changes queued and not yet applied
 * @param dropped     changes discarded because the queue was full (reconciliation repairs bans)
 * @param applied     changes the backend accepted since start
 * @param lastError   the last failure, or {@code null} if there was none
 * @param lastErrorAt when {@code lastError} happened, or {@code null}
 */
public record BridgeStatus(String name, boolean connected, int pending, long dropped, long applied,
                           String lastError, Instant lastErrorAt) {

    /** One line for a status listing. */
    public String summary() {
        return name + ": " + (connected ? "connected" : "DISCONNECTED")
                + ", pending " + pending + ", dropped " + dropped + ", applied " + applied
                + (lastError == null ? "" : ", last error at " + lastErrorAt + ": " + lastError);
    }
}
