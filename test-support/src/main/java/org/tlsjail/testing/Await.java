package org.tlsjail.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Polls for an asynchronous outcome (a writer thread, a bridge thread, a child process) up to a
 * generous deadline. The deadline only bounds a hang; no test asserts how fast the outcome came.
 */
public final class Await {
    private Await() {
    }

    public static void until(String what, Duration max, BooleanSupplier condition) {
        until(what, max, condition, () -> "");
    }

    public static void until(String what, Duration max, BooleanSupplier condition, Supplier<String> state) {
        long deadline = System.nanoTime() + max.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + max + " waiting for " + what + "; state: " + state.get());
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what);
            }
        }
    }
}
