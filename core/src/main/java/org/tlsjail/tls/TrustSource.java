package org.tlsjail.tls;

import java.nio.file.Path;
import java.util.Objects;

/** Where the CA certificates that client certificates must chain to come from. */
public sealed interface TrustSource {
    /** A PKCS#12 file; every certificate in it (trusted entries and key entries' certificates) is trusted. */
    record Pkcs12(Path file, String password) implements TrustSource {
        public Pkcs12 {
            Objects.requireNonNull(file, "file");
            password = password == null ? "" : password;
        }
    }

    /** A file of concatenated PEM certificates. */
    record PemBundle(Path file) implements TrustSource {
        public PemBundle {
            Objects.requireNonNull(file, "file");
        }
    }

    static TrustSource pkcs12(Path file, String password) {
        return new Pkcs12(file, password);
    }

    static TrustSource pemBundle(Path file) {
        return new PemBundle(file);
    }
}
