package org.tlsjail.pki;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

/** A private key with its certificate chain, leaf first. */
public record Credential(PrivateKey privateKey, List<X509Certificate> chain) {
    public Credential {
        Objects.requireNonNull(privateKey, "privateKey");
        chain = List.copyOf(chain);
        if (chain.isEmpty()) {
            throw new IllegalArgumentException("a credential needs at least one certificate");
        }
    }

    /** The leaf certificate. */
    public X509Certificate certificate() {
        return chain.get(0);
    }
}
