package org.tlsjail.tls;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Immutable TLS settings of a listener.
 *
 * @param serverKey         the server's key and chain
 * @param clientCas         the CAs client certificates must chain to; may be null only with {@link ClientAuth#NONE}
 * @param protocols         enabled protocols, a subset of TLSv1.3 and TLSv1.2, in any order
 * @param cipherSuites      enabled cipher suites (IANA names); empty = {@link TlsPolicy#DEFAULT_CIPHER_SUITES}
 * @param clientAuth        client certificate policy
 * @param signatureSchemes  signature schemes offered and accepted (handshake and certificates);
 *                          empty = {@link TlsPolicy#DEFAULT_SIGNATURE_SCHEMES}
 * @param certificatePolicy key sizes and digests a client chain must meet
 * @param revocation        CRLs for client chains, or null for none
 */
public record TlsSettings(
        KeySource serverKey,
        TrustSource clientCas,
        List<String> protocols,
        List<String> cipherSuites,
        ClientAuth clientAuth,
        List<String> signatureSchemes,
        CertificatePolicy certificatePolicy,
        RevocationSettings revocation) {

    private static final Set<String> KNOWN_PROTOCOLS = Set.of("TLSv1.3", "TLSv1.2");

    public TlsSettings {
        Objects.requireNonNull(serverKey, "serverKey");
        protocols = List.copyOf(protocols);
        cipherSuites = List.copyOf(cipherSuites);
        signatureSchemes = List.copyOf(signatureSchemes);
        Objects.requireNonNull(clientAuth, "clientAuth");
        Objects.requireNonNull(certificatePolicy, "certificatePolicy");
        if (protocols.isEmpty()) {
            throw new IllegalArgumentException("protocols: at least one of TLSv1.3, TLSv1.2 is needed");
        }
        for (String p : protocols) {
            if (!KNOWN_PROTOCOLS.contains(p)) {
                throw new IllegalArgumentException("protocols: unsupported protocol '" + p + "' (allowed: TLSv1.3, TLSv1.2)");
            }
        }
        for (String s : signatureSchemes) {
            if (!TlsPolicy.KNOWN_SIGNATURE_SCHEMES.contains(s)) {
                throw new IllegalArgumentException("signature-schemes: unsupported signature scheme '" + s + "'");
            }
        }
        if (clientCas == null && clientAuth != ClientAuth.NONE) {
            throw new IllegalArgumentException("client-cas: needed unless client-auth is none");
        }
        if (revocation != null && clientAuth == ClientAuth.NONE) {
            throw new IllegalArgumentException("crl: client certificates are not asked for (client-auth none)");
        }
    }

    /** The default policy: {@link TlsPolicy}'s suites and schemes, {@link CertificatePolicy#DEFAULT}, no CRLs. */
    public TlsSettings(KeySource serverKey, TrustSource clientCas, List<String> protocols, List<String> cipherSuites,
                       ClientAuth clientAuth) {
        this(serverKey, clientCas, protocols, cipherSuites, clientAuth, List.of(), CertificatePolicy.DEFAULT, null);
    }

    /** TLSv1.3 and TLSv1.2, the default policy, client certificate required. */
    public static TlsSettings of(KeySource serverKey, TrustSource clientCas) {
        return new TlsSettings(serverKey, clientCas, List.of("TLSv1.3", "TLSv1.2"), List.of(), ClientAuth.REQUIRED);
    }

    /** The cipher suites in force: the configured ones, or the default policy's. */
    public List<String> effectiveCipherSuites() {
        return cipherSuites.isEmpty() ? TlsPolicy.DEFAULT_CIPHER_SUITES : cipherSuites;
    }

    /** The signature schemes in force: the configured ones, or the default policy's. */
    public List<String> effectiveSignatureSchemes() {
        return signatureSchemes.isEmpty() ? TlsPolicy.DEFAULT_SIGNATURE_SCHEMES : signatureSchemes;
    }

    public TlsSettings withProtocols(List<String> p) {
        return new TlsSettings(serverKey, clientCas, p, cipherSuites, clientAuth, signatureSchemes, certificatePolicy, revocation);
    }

    public TlsSettings withCipherSuites(List<String> c) {
        return new TlsSettings(serverKey, clientCas, protocols, c, clientAuth, signatureSchemes, certificatePolicy, revocation);
    }

    public TlsSettings withClientAuth(ClientAuth a) {
        return new TlsSettings(serverKey, clientCas, protocols, cipherSuites, a, signatureSchemes, certificatePolicy, revocation);
    }

    public TlsSettings withSignatureSchemes(List<String> s) {
        return new TlsSettings(serverKey, clientCas, protocols, cipherSuites, clientAuth, s, certificatePolicy, revocation);
    }

    public TlsSettings withCertificatePolicy(CertificatePolicy p) {
        return new TlsSettings(serverKey, clientCas, protocols, cipherSuites, clientAuth, signatureSchemes, p, revocation);
    }

    public TlsSettings withRevocation(RevocationSettings r) {
        return new TlsSettings(serverKey, clientCas, protocols, cipherSuites, clientAuth, signatureSchemes, certificatePolicy, r);
    }
}
