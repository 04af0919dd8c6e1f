package org.tlsjail.tls;

import java.nio.file.Path;
import java.util.Objects;

/** Where the server's private key and certificate chain come from. */
public sealed interface KeySource {
    /** A PKCS#12 file; {@code alias} may be null to take the only key entry. */
    record Pkcs12(Path file, String password, String alias) implements KeySource {
        public Pkcs12 {
            Objects.requireNonNull(file, "file");
            password = password == null ? "" : password;
        }
    }

    /** A PEM certificate chain (leaf first) and an unencrypted PEM private key. */
    record Pem(Path chainFile, Path keyFile) implements KeySource {
        public Pem {
            Objects.requireNonNull(chainFile, "chainFile");
            Objects.requireNonNull(keyFile, "keyFile");
        }
    }

    static KeySource pkcs12(Path file, String password) {
        return new Pkcs12(file, password, null);
    }

    static KeySource pem(Path chainFile, Path keyFile) {
        return new Pem(chainFile, keyFile);
    }
}
