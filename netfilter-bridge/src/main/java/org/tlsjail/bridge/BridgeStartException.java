package org.tlsjail.bridge;

/** A bridge cannot start; the message names the option or permission to fix. */
public final class BridgeStartException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BridgeStartException(String message) {
        super(message);
    }

    public BridgeStartException(String message, Throwable cause) {
        super(message, cause);
    }
}
