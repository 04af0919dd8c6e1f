package org.tlsjail.tls;

import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.DSAPublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.pkcs.RSASSAPSSparams;

/**
 * What a client certificate chain must be made of, checked like OpenSSL's {@code check_auth_level}:
 * every key in the path (the trust anchor's included) at least as strong as the minimum, and no
 * signature in the path made with MD2/MD4/MD5 or (unless widened) SHA-1, the trust anchor's own
 * self-signature excepted (it is trusted because it is configured, not because of its signature).
 *
 * @param minRsaBits  smallest RSA or DSA modulus accepted (OpenSSL security level 2: 2048)
 * @param minEcBits   smallest EC field size accepted
 * @param acceptSha1  true to accept SHA-1 signatures (MD5 and older are never accepted)
 */
public record CertificatePolicy(int minRsaBits, int minEcBits, boolean acceptSha1) {
    /** RSA/DSA 2048, EC 256, no SHA-1. */
    public static final CertificatePolicy DEFAULT = new CertificatePolicy(2048, 256, false);

    private static final String SHA1 = "1.3.14.3.2.26";
    private static final String RSASSA_PSS = "1.2.840.113549.1.1.10";
    /** Signature algorithms over SHA-1 (RSA, ECDSA, DSA, and the OIW aliases). */
    private static final Set<String> SHA1_SIGNATURES = Set.of("1.2.840.113549.1.1.5", "1.2.840.10045.4.1",
            "1.2.840.10040.4.3", "1.3.14.3.2.29", "1.3.14.3.2.27");
    /** MD2, MD4, MD5 with RSA (PKCS#1 and OIW): never accepted. */
    private static final Set<String> BROKEN_SIGNATURES = Set.of("1.2.840.113549.1.1.2", "1.2.840.113549.1.1.3",
            "1.2.840.113549.1.1.4", "1.3.14.3.2.3");
    private static final Set<String> BROKEN_DIGESTS = Set.of("1.2.840.113549.2.2", "1.2.840.113549.2.4",
            "1.2.840.113549.2.5");

    public CertificatePolicy {
        if (minRsaBits < 1024 || minRsaBits > 16384) {
            throw new IllegalArgumentException("min-rsa-bits: must be between 1024 and 16384");
        }
        if (minEcBits < 160 || minEcBits > 521) {
            throw new IllegalArgumentException("min-ec-bits: must be between 160 and 521");
        }
    }

    /**
     * Checks a built path, leaf first and trust anchor last; returns 0 or the X509 verify result
     * OpenSSL would give (66 EE key, 67 CA key, 68 digest), in OpenSSL's order.
     */
    int check(List<X509Certificate> path) {
        if (!keyStrongEnough(path.get(0).getPublicKey())) {
            return X509VerifyResult.EE_KEY_TOO_SMALL;
        }
        for (int i = 0; i < path.size(); i++) {
            X509Certificate c = path.get(i);
            if (i > 0 && !keyStrongEnough(c.getPublicKey())) {
                return X509VerifyResult.CA_KEY_TOO_SMALL;
            }
            if (i < path.size() - 1 && weakSignature(c)) {
                return X509VerifyResult.CA_MD_TOO_WEAK;
            }
        }
        return 0;
    }

    boolean keyStrongEnough(PublicKey key) {
        if (key instanceof RSAPublicKey rsa) {
            return rsa.getModulus().bitLength() >= minRsaBits;
        }
        if (key instanceof DSAPublicKey dsa) {
            return dsa.getParams() != null && dsa.getParams().getP().bitLength() >= minRsaBits;
        }
        if (key instanceof ECPublicKey ec) {
            return ec.getParams().getCurve().getField().getFieldSize() >= minEcBits;
        }
        // Ed25519/Ed448 (128/224-bit security) and anything else BC accepted for TLS.
        return true;
    }

    boolean weakSignature(X509Certificate c) {
        String oid = c.getSigAlgOID();
        if (BROKEN_SIGNATURES.contains(oid)) {
            return true;
        }
        if (SHA1_SIGNATURES.contains(oid)) {
            return !acceptSha1;
        }
        if (RSASSA_PSS.equals(oid)) {
            String hash = pssHash(c.getSigAlgParams());
            if (BROKEN_DIGESTS.contains(hash)) {
                return true;
            }
            return SHA1.equals(hash) && !acceptSha1;
        }
        return false;
    }

    /** The hash of RSASSA-PSS parameters; absent parameters mean SHA-1 (RFC 4055). */
    private static String pssHash(byte[] params) {
        if (params == null || params.length == 0) {
            return SHA1;
        }
        try {
            RSASSAPSSparams p = RSASSAPSSparams.getInstance(ASN1Primitive.fromByteArray(params));
            return p.getHashAlgorithm().getAlgorithm().getId();
        } catch (java.io.IOException | RuntimeException e) {
            // unparseable parameters: treat as the weakest reading (BC would not have verified it anyway)
            return SHA1;
        }
    }
}
