package org.tlsjail.config;

import org.tlsjail.tls.CertificatePolicy;
import org.tlsjail.tls.ClientAuth;
import org.tlsjail.tls.RevocationSettings;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * {@code tls.*}. Either {@code key} + {@code cert} (PEM) or {@code keystore} (PKCS#12) names the
 * server's key; when neither is set the daemon generates a demo PKI in the state directory.
 *
 * @param cipherSuites     IANA names, never empty (the default policy's when not configured)
 * @param keystorePassword never printed by {@code config show}
 * @param clientCa         PEM bundle, or PKCS#12 when the name ends in .p12 or .pfx
 * @param clientCaPassword for a PKCS#12 client CA file
 * @param signatureSchemes RFC 8446 names, never empty (the default policy's when not configured)
 * @param certificatePolicy key sizes and digests client chains must meet
 * @param revocation       CRLs for client chains, or null when {@code tls.crl} is not set
 */
public record TlsSection(List<String> protocols, List<String> cipherSuites, Path key, Path cert, Path keystore,
                         String keystorePassword, Path clientCa, String clientCaPassword, ClientAuth clientAuth,
                         Duration handshakeTimeout, List<String> signatureSchemes, CertificatePolicy certificatePolicy,
                         RevocationSettings revocation) {
    public TlsSection {
        protocols = List.copyOf(protocols);
        cipherSuites = List.copyOf(cipherSuites);
        signatureSchemes = List.copyOf(signatureSchemes);
    }

    /** True when no server key is configured and the demo PKI is used. */
    public boolean usesDemoPki() {
        return key == null && cert == null && keystore == null;
    }

    /** True when {@link #clientCa()} is a PKCS#12 file rather than a PEM bundle. */
    public boolean clientCaIsPkcs12() {
        String n = clientCa == null ? "" : clientCa.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        return n.endsWith(".p12") || n.endsWith(".pfx");
    }
}
