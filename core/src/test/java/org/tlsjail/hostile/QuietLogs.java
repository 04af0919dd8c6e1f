package org.tlsjail.hostile;

import org.slf4j.LoggerFactory;

/**
 * The suite provokes hundreds of thousands of failures: at DEBUG (logback's default without a
 * configuration) the listener logs a stack trace for each, and BC JSSE logs every alert through
 * java.util.logging, which would turn the suite into a test of the console. Warnings stay on.
 */
final class QuietLogs {
    /** JUL holds loggers weakly: keep the configured one reachable. */
    private static final java.util.logging.Logger BC_JSSE = java.util.logging.Logger.getLogger("org.bouncycastle.jsse");

    private QuietLogs() {
    }

    static void apply() {
        BC_JSSE.setLevel(java.util.logging.Level.SEVERE);
        if (LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME) instanceof ch.qos.logback.classic.Logger root) {
            root.setLevel(ch.qos.logback.classic.Level.INFO);
        }
    }
}
