package org.tlsjail.daemon;

/** The daemon cannot start; the message is one line telling the operator what to fix. */
public final class StartupException extends Exception {
    private static final long serialVersionUID = 1L;

    /** True when the configuration or the files it names are wrong: restarting cannot help. */
    private final boolean configuration;

    public StartupException(String message) {
        this(message, null, false);
    }

    public StartupException(String message, Throwable cause) {
        this(message, cause, false);
    }

    private StartupException(String message, Throwable cause, boolean configuration) {
        super(message, cause);
        this.configuration = configuration;
    }

    /** A start-up failure the operator must fix in the configuration or its files (exit status 2). */
    public static StartupException configuration(String message, Throwable cause) {
        return new StartupException(message, cause, true);
    }

    public boolean isConfigurationError() {
        return configuration;
    }
}
