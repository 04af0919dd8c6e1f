package org.tlsjail.bridge;

import org.tlsjail.banengine.BanListener;

/**
 * A backend that mirrors the engine's bans into the host (a Fail2Ban server, an nftables set).
 *
 * <p>Lifecycle: construct, {@link #start()} (checks the backend and fails fast with a message that
 * names the offending option), register as a listener on the engine, {@link #close()} at shutdown.
 * {@link #onBan} and {@link #onUnban} only enqueue: they are called under the engine's lock.
 */
public interface HostBanBridge extends BanListener, AutoCloseable {

    /**
     * Checks the backend, brings it in line with the active bans and starts the bridge's thread.
     *
     * @throws BridgeStartException if the backend is unusable (missing program, no permission,
     *                              no server, unknown jail); the message says what to fix
     */
    void start();

    /** A snapshot of the bridge's state for {@code tlsjail status}. Never blocks on I/O. */
    BridgeStatus status();

    /** Stops the thread (bounded wait) and releases what the backend holds. Idempotent. */
    @Override
    void close();
}
