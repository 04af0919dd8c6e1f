package org.tlsjail.tls;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;

/**
 * Verifies client certificates with Bouncy Castle's PKIX trust manager, then applies tlsjail's own
 * {@link CertificatePolicy} and CRLs ({@link CrlStore}) to the path, which BC's manager does not
 * (it accepted RSA-1024 and SHA-1 client chains, and revocation is off in it). When a chain is
 * rejected it works out the X509 verify result OpenSSL would report (checks done here on typed
 * data: issuer names, signatures, keys, CRLs, validity dates, key usage), because BC's own
 * exception only carries text.
 */
final class ClientCertificateVerifier extends X509ExtendedTrustManager {
    private static final int MAX_DEPTH = 16;

    private final X509ExtendedTrustManager delegate;
    private final List<X509Certificate> anchors;
    private final InstantSource clock;
    private final CertificatePolicy policy;
    private final CrlStore crls;

    ClientCertificateVerifier(X509ExtendedTrustManager delegate, List<X509Certificate> anchors, InstantSource clock) {
        this(delegate, anchors, clock, CertificatePolicy.DEFAULT, null);
    }

    /** {@code crls} may be null: no revocation checking. */
    ClientCertificateVerifier(X509ExtendedTrustManager delegate, List<X509Certificate> anchors, InstantSource clock,
                              CertificatePolicy policy, CrlStore crls) {
        this.delegate = delegate;
        this.anchors = List.copyOf(anchors);
        this.clock = clock;
        this.policy = policy;
        this.crls = crls;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        try {
            delegate.checkClientTrusted(chain, authType, socket);
        } catch (CertificateException e) {
            throw rejected(chain, e);
        }
        enforce(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        try {
            delegate.checkClientTrusted(chain, authType, engine);
        } catch (CertificateException e) {
            throw rejected(chain, e);
        }
        enforce(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        try {
            delegate.checkClientTrusted(chain, authType);
        } catch (CertificateException e) {
            throw rejected(chain, e);
        }
        enforce(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        throw new CertificateException("a server never verifies server certificates");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        throw new CertificateException("a server never verifies server certificates");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("a server never verifies server certificates");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return delegate.getAcceptedIssuers();
    }

    /** BC accepted the chain: now the key/digest policy and the CRLs, on the path built here. */
    private void enforce(X509Certificate[] chain) throws ClientCertificateRejectedException {
        Built b = build(chain);
        int code = b.error() != 0 ? b.error() : policyAndRevocation(b.path());
        if (code != 0) {
            throw new ClientCertificateRejectedException(code, X509VerifyResult.reason(code), commonName(chain[0]), null);
        }
    }

    private ClientCertificateRejectedException rejected(X509Certificate[] chain, CertificateException cause) {
        if (chain == null || chain.length == 0) {
            return new ClientCertificateRejectedException(0, null, null, cause);
        }
        int code = verifyResult(chain, clock.instant());
        return new ClientCertificateRejectedException(code, X509VerifyResult.reason(code), commonName(chain[0]), cause);
    }

    /** A path from the leaf to a trust anchor (anchor last), or the verify result that stopped it. */
    private record Built(List<X509Certificate> path, int error) {
    }

    /**
     * OpenSSL-like verify result, in OpenSSL's order: chain building (with signatures), purpose,
     * key and digest strength (its check_auth_level), revocation, then dates.
     */
    int verifyResult(X509Certificate[] chain, Instant now) {
        Built b = build(chain);
        if (b.error() != 0) {
            return b.error();
        }
        try {
            List<String> eku = chain[0].getExtendedKeyUsage();
            if (eku != null && !eku.contains("1.3.6.1.5.5.7.3.2") && !eku.contains("2.5.29.37.0")) {
                return X509VerifyResult.INVALID_PURPOSE;
            }
        } catch (java.security.cert.CertificateParsingException e) {
            return X509VerifyResult.INVALID_PURPOSE;
        }
        int r = policyAndRevocation(b.path());
        if (r != 0) {
            return r;
        }
        for (X509Certificate c : chain) {
            if (now.isAfter(c.getNotAfter().toInstant())) {
                return X509VerifyResult.CERT_HAS_EXPIRED;
            }
            if (now.isBefore(c.getNotBefore().toInstant())) {
                return X509VerifyResult.CERT_NOT_YET_VALID;
            }
        }
        return 0;
    }

    private int policyAndRevocation(List<X509Certificate> path) {
        int r = policy.check(path);
        if (r == 0 && crls != null) {
            r = crls.check(path);
        }
        return r;
    }

    /**
     * Follows issuer names from the leaf, first among the anchors, then among the certificates the
     * client sent; among several candidates of one name the one whose key verifies the signature is
     * taken (a client cannot steer the path to a look-alike that dodges a CRL).
     */
    private Built build(X509Certificate[] chain) {
        List<X509Certificate> path = new ArrayList<>();
        X509Certificate current = chain[0];
        path.add(current);
        List<X509Certificate> sent = List.of(chain);
        while (path.size() <= MAX_DEPTH) {
            Candidate anchor = issuerAmong(current, anchors);
            if (anchor.named()) {
                if (anchor.cert() == null) {
                    return new Built(null, X509VerifyResult.CERT_SIGNATURE_FAILURE);
                }
                if (!anchor.cert().equals(current)) {
                    path.add(anchor.cert());
                }
                return new Built(List.copyOf(path), 0);
            }
            if (selfIssued(current)) {
                return new Built(null, path.size() == 1 ? X509VerifyResult.DEPTH_ZERO_SELF_SIGNED_CERT
                        : X509VerifyResult.SELF_SIGNED_CERT_IN_CHAIN);
            }
            Candidate next = issuerAmong(current, sent);
            if (!next.named()) {
                return new Built(null, X509VerifyResult.UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
            }
            if (next.cert() == null) {
                return new Built(null, X509VerifyResult.CERT_SIGNATURE_FAILURE);
            }
            if (path.contains(next.cert())) {
                return new Built(null, X509VerifyResult.UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
            }
            current = next.cert();
            path.add(current);
        }
        return new Built(null, X509VerifyResult.UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    }

    /** {@code named}: some candidate carries the issuer's name; {@code cert}: one that also signed it, or null. */
    private record Candidate(boolean named, X509Certificate cert) {
    }

    private static Candidate issuerAmong(X509Certificate cert, List<X509Certificate> candidates) {
        boolean named = false;
        for (X509Certificate c : candidates) {
            if (c != cert && c.getSubjectX500Principal().equals(cert.getIssuerX500Principal())) {
                named = true;
                if (signedBy(cert, c)) {
                    return new Candidate(true, c);
                }
            }
        }
        return new Candidate(named, null);
    }

    private static boolean selfIssued(X509Certificate c) {
        return c.getSubjectX500Principal().equals(c.getIssuerX500Principal());
    }

    private static boolean signedBy(X509Certificate cert, X509Certificate issuer) {
        try {
            cert.verify(issuer.getPublicKey());
            return true;
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    /** The first CN of the subject, as raw text (client controlled), or null. */
    static String commonName(X509Certificate cert) {
        try {
            X500Name name = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded());
            RDN[] cns = name.getRDNs(BCStyle.CN);
            if (cns.length == 0 || cns[0].getFirst() == null) {
                return null;
            }
            var v = cns[0].getFirst().getValue();
            return v instanceof ASN1String str ? str.getString() : IETFUtils.valueToString(v);
        } catch (RuntimeException e) {
            return null;
        }
    }
}
