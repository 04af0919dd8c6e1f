package org.tlsjail.bridge;

import java.net.InetAddress;
import org.tlsjail.banengine.BanEngine;
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

    /**
     * Registers this bridge on {@code engine} and starts it; if start fails the listener is removed
     * again and the bridge closed before the exception propagates. Registering first means no ban
     * made while the bridge starts is missed (it is queued, and reconciliation covers the rest).
     */
    default void startOn(BanEngine engine) {
        engine.addListener(this);
        try {
            start();
        } catch (RuntimeException e) {
            engine.removeListener(this);
            close();
            throw e;
        }
    }

    /**
     * Told of one failed handshake of {@code source}. Only the Fail2Ban bridge in attempt mode acts
     * on it; the daemon may call it on every bridge. Never blocks.
     */
    default void onFailure(InetAddress source, String reason) {
    }

    /**
     * The engine's jail settings were replaced (a reload). A bridge that mirrors some of them (the
     * nftables bridge: ignoreip) re-reads them on its own thread. Never blocks.
     */
    default void jailReconfigured() {
    }

    /** A snapshot of the bridge's state for {@code tlsjail status}. Never blocks on I/O. */
    BridgeStatus status();

    /** Stops the thread (bounded wait) and releases what the backend holds. Idempotent. */
    @Override
    void close();
}
