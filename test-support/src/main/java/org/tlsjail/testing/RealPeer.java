package org.tlsjail.testing;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Guards a test that needs a real peer (a Debian package, root, a network namespace). On a
 * developer's machine a missing peer skips the test with the reason; under {@code CI=true} it
 * fails it, because CI installs every peer and a silent skip there would hide a lost guarantee.
 */
public final class RealPeer {
    private RealPeer() {
    }

    /** Skips (or, under CI=true, fails) the calling test unless {@code present}. */
    public static void require(boolean present, String missing) {
        if (present) {
            return;
        }
        if (underCi()) {
            Assertions.fail("CI=true and a real peer is missing: " + missing);
        }
        Assumptions.abort(missing);
    }

    static boolean underCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }
}
