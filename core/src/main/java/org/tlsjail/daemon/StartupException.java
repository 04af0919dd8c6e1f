package org.tlsjail.daemon;

/** The daemon cannot start; the message is one line telling the operator what to fix. */
public final class StartupException extends Exception {
    private static final long serialVersionUID = 1L;

    public StartupException(String message) {
        super(message);
    }

    public StartupException(String message, Throwable cause) {
        super(message, cause);
    }
}
