package org.tlsjail.tls;

import java.io.File;
import org.junit.jupiter.api.Assumptions;

/** A real peer program the test needs: missing means fail under CI=true, skip (with the reason) otherwise. */
final class RealPeer {
    private RealPeer() {
    }

    static void require(String program, String debianPackage) {
        boolean found = false;
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (new File(dir, program).canExecute()) {
                found = true;
                break;
            }
        }
        if (!found && "true".equals(System.getenv("CI"))) {
            throw new AssertionError(program + " is not installed (Debian package " + debianPackage + "); CI must install it");
        }
        Assumptions.assumeTrue(found, program + " is not installed (Debian package " + debianPackage + ")");
    }
}
