package org.tlsjail.tls;

import java.util.List;
import java.util.Set;

/**
 * tlsjail's default TLS policy: Mozilla's "intermediate" server configuration (version 5.7) for
 * what Bouncy Castle implements. TLS 1.3 with its three suites, TLS 1.2 with ECDHE key exchange
 * and AEAD ciphers only (no CBC, no static RSA, no DHE), and signature schemes without SHA-1 or
 * SHA-224, both for what tlsjail signs with and for what it accepts from clients.
 */
public final class TlsPolicy {
    /** IANA names, in the server's preference order (TLS 1.3 first). */
    public static final List<String> DEFAULT_CIPHER_SUITES = List.of(
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    /** RFC 8446 names, as Bouncy Castle and OpenSSL's {@code -sigalgs} spell them. */
    public static final List<String> DEFAULT_SIGNATURE_SCHEMES = List.of(
            "ecdsa_secp256r1_sha256",
            "ecdsa_secp384r1_sha384",
            "ecdsa_secp521r1_sha512",
            "ed25519",
            "ed448",
            "rsa_pss_rsae_sha256",
            "rsa_pss_rsae_sha384",
            "rsa_pss_rsae_sha512",
            "rsa_pss_pss_sha256",
            "rsa_pss_pss_sha384",
            "rsa_pss_pss_sha512",
            "rsa_pkcs1_sha256",
            "rsa_pkcs1_sha384",
            "rsa_pkcs1_sha512");

    /** What {@code tls.signature-schemes} may name: the defaults plus what an operator may widen to. */
    public static final Set<String> KNOWN_SIGNATURE_SCHEMES = Set.of(
            "ecdsa_secp256r1_sha256", "ecdsa_secp384r1_sha384", "ecdsa_secp521r1_sha512",
            "ed25519", "ed448",
            "rsa_pss_rsae_sha256", "rsa_pss_rsae_sha384", "rsa_pss_rsae_sha512",
            "rsa_pss_pss_sha256", "rsa_pss_pss_sha384", "rsa_pss_pss_sha512",
            "rsa_pkcs1_sha256", "rsa_pkcs1_sha384", "rsa_pkcs1_sha512",
            "ecdsa_brainpoolP256r1tls13_sha256", "ecdsa_brainpoolP384r1tls13_sha384",
            "ecdsa_brainpoolP512r1tls13_sha512",
            "rsa_pkcs1_sha1", "ecdsa_sha1");

    private TlsPolicy() {
    }
}
