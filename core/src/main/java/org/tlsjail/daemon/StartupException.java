package org.tlsjail.daemon;

/** The daemon cannot start; the message is one line telling the operator what to fix. */
public final class StartupException extends Exception {
    private static final long serialVersionUID = 1L;
    private final boolean restartWillNotHelp;

    public StartupException(String message) {
        this(message, null, false);
    }

    public StartupException(String message, Throwable cause) {
        this(message, cause, false);
    }

    private StartupException(String message, Throwable cause, boolean restartWillNotHelp) {
        super(message, cause);
        this.restartWillNotHelp = restartWillNotHelp;
    }

    /** An unsafe file or directory: the operator must fix it; the CLI exits 2 so systemd does not loop. */
    public static StartupException unsafe(org.tlsjail.files.UnsafePathException e) {
        return new StartupException("unsafe " + e.getMessage(), e, true);
    }

    /** A start-up failure the operator must fix in the configuration or the files it names (exit 2). */
    public static StartupException configuration(String message, Throwable cause) {
        return new StartupException(message, cause, true);
    }

    /** True if the same start will fail again until the operator changes something (exit status 2). */
    public boolean restartWillNotHelp() {
        return restartWillNotHelp;
    }
}
