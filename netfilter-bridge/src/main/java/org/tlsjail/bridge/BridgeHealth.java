package org.tlsjail.bridge;

import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The mutable half of a {@link BridgeStatus}: written by the bridge's thread, read by status
 * calls from any thread. Public only because both backend packages use it.
 */
public final class BridgeHealth {
    private final InstantSource clock;
    private final AtomicLong applied = new AtomicLong();
    private volatile boolean connected;
    private volatile String lastError;
    private volatile Instant lastErrorAt;

    public BridgeHealth(InstantSource clock) {
        this.clock = clock;
    }

    public void connected(boolean value) {
        connected = value;
    }

    public boolean isConnected() {
        return connected;
    }

    public void applied(long count) {
        applied.addAndGet(count);
    }

    /** Records a failure; the text is kept to one bounded line so a status listing stays readable. */
    public void error(String message) {
        String m = message == null ? "unknown error" : message.replaceAll("[\\r\\n\\t]+", " ").strip();
        lastError = m.length() > 500 ? m.substring(0, 500) + "..." : m;
        lastErrorAt = clock.instant();
    }

    public String lastError() {
        return lastError;
    }

    public BridgeStatus snapshot(String name, int pending, long dropped) {
        return new BridgeStatus(name, connected, pending, dropped, applied.get(), lastError, lastErrorAt);
    }
}
