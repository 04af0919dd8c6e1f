package org.tlsjail.daemon;

import java.time.InstantSource;
import org.tlsjail.config.TlsjailConfig;

/** {@code tlsjail config check}'s look at the TLS files: what {@code run} would fail on, found before it runs. */
public final class TlsMaterial {
    private TlsMaterial() {
    }

    /**
     * Reads the key, certificate, key store, client CA and CRL files the configuration names and
     * matches the key to its certificate; throws a configuration {@link StartupException} whose
     * message is one line naming the option and file.
     */
    public static void check(TlsjailConfig config) throws StartupException {
        TlsFront.check(config, InstantSource.system());
    }
}
