package org.tlsjail.tls;

import java.security.cert.CertificateException;

/**
 * Thrown by tlsjail's client trust manager when a client certificate fails verification. It is a
 * typed signal: Bouncy Castle turns every trust manager failure into alert 46 and keeps this
 * exception as the cause, so the listener can read the OpenSSL X509 verify result and the
 * certificate's CN from here instead of parsing messages.
 */
public final class ClientCertificateRejectedException extends CertificateException {
    private final int verifyCode;
    private final String verifyReason;
    private final String commonName;

    public ClientCertificateRejectedException(int verifyCode, String verifyReason, String commonName, Throwable cause) {
        super("client certificate rejected: " + (verifyReason == null ? "verification failed" : verifyReason), cause);
        this.verifyCode = verifyCode;
        this.verifyReason = verifyReason;
        this.commonName = commonName;
    }

    /** OpenSSL's X509_V_ERR_* number (10 = expired, 20 = unknown issuer, ...), or 0 if none applies. */
    public int verifyCode() {
        return verifyCode;
    }

    /** OpenSSL's verify string for {@link #verifyCode()}, or null. */
    public String verifyReason() {
        return verifyReason;
    }

    /** The rejected leaf's subject CN, raw and unsanitised (client-controlled text!), or null. */
    public String commonName() {
        return commonName;
    }
}
