package org.tlsjail.tls;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;

/**
 * Verifies client certificates with Bouncy Castle's PKIX trust manager, and when it rejects one,
 * works out the X509 verify result OpenSSL would report (checks done here on typed data: issuer
 * names, signatures, validity dates, key usage), because BC's own exception only carries text.
 */
final class ClientCertificateVerifier extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager delegate;
    private final List<X509Certificate> anchors;
    private final InstantSource clock;

    ClientCertificateVerifier(X509ExtendedTrustManager delegate, List<X509Certificate> anchors, InstantSource clock) {
        this.delegate = delegate;
        this.anchors = List.copyOf(anchors);
        this.clock = clock;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        try {
            delegate.checkClientTrusted(chain, authType, socket);
        } catch (CertificateException e) {
            throw rejected(chain, e);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        try {
            delegate.checkClientTrusted(chain, authType, engine);
        } catch (CertificateException e) {
            throw rejected(chain, e);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        try {
            delegate.checkClientTrusted(chain, authType);
        } catch (CertificateException e) {
            throw rejected(chain, e);
        }
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

    private ClientCertificateRejectedException rejected(X509Certificate[] chain, CertificateException cause) {
        if (chain == null || chain.length == 0) {
            return new ClientCertificateRejectedException(0, null, null, cause);
        }
        int code = verifyResult(chain, clock.instant());
        return new ClientCertificateRejectedException(code, X509VerifyResult.reason(code), commonName(chain[0]), cause);
    }

    /** OpenSSL-like verify result, in OpenSSL's order: chain building, then signatures, then dates, then purpose. */
    int verifyResult(X509Certificate[] chain, Instant now) {
        int pathLength = 0;
        X509Certificate current = chain[0];
        boolean anchored = false;
        while (pathLength < 16) {
            X509Certificate anchor = issuerAmong(current, anchors);
            if (anchor != null) {
                if (!signedBy(current, anchor)) {
                    return X509VerifyResult.CERT_SIGNATURE_FAILURE;
                }
                anchored = true;
                break;
            }
            if (selfIssued(current)) {
                return pathLength == 0 ? X509VerifyResult.DEPTH_ZERO_SELF_SIGNED_CERT
                        : X509VerifyResult.SELF_SIGNED_CERT_IN_CHAIN;
            }
            X509Certificate next = issuerAmong(current, List.of(chain));
            if (next == null || next == current) {
                return X509VerifyResult.UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
            }
            if (!signedBy(current, next)) {
                return X509VerifyResult.CERT_SIGNATURE_FAILURE;
            }
            current = next;
            pathLength++;
        }
        if (!anchored) {
            return X509VerifyResult.UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
        }
        for (X509Certificate c : chain) {
            if (now.isAfter(c.getNotAfter().toInstant())) {
                return X509VerifyResult.CERT_HAS_EXPIRED;
            }
            if (now.isBefore(c.getNotBefore().toInstant())) {
                return X509VerifyResult.CERT_NOT_YET_VALID;
            }
        }
        try {
            List<String> eku = chain[0].getExtendedKeyUsage();
            if (eku != null && !eku.contains("1.3.6.1.5.5.7.3.2") && !eku.contains("2.5.29.37.0")) {
                return X509VerifyResult.INVALID_PURPOSE;
            }
        } catch (java.security.cert.CertificateParsingException e) {
            return X509VerifyResult.INVALID_PURPOSE;
        }
        return 0;
    }

    private static X509Certificate issuerAmong(X509Certificate cert, List<X509Certificate> candidates) {
        for (X509Certificate c : candidates) {
            if (c != cert && c.getSubjectX500Principal().equals(cert.getIssuerX500Principal())) {
                return c;
            }
        }
        return null;
    }

    private static boolean selfIssued(X509Certificate c) {
        return c.getSubjectX500Principal().equals(c.getIssuerX500Principal());
    }

    private static boolean signedBy(X509Certificate cert, X509Certificate issuer) {
        try {
            cert.verify(issuer.getPublicKey());
            return true;
        } catch (GeneralSecurityException e) {
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
