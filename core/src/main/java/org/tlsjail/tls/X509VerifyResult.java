package org.tlsjail.tls;

/**
 * The OpenSSL X509_V_ERR_* results tlsjail reports, with OpenSSL 3.0's strings (as
 * {@code X509_verify_cert_error_string} and {@code openssl verify} print them).
 */
public final class X509VerifyResult {
    public static final int UNABLE_TO_GET_CRL = 3;
    public static final int CERT_SIGNATURE_FAILURE = 7;
    public static final int CRL_SIGNATURE_FAILURE = 8;
    public static final int CERT_NOT_YET_VALID = 9;
    public static final int CERT_HAS_EXPIRED = 10;
    public static final int CRL_NOT_YET_VALID = 11;
    public static final int CRL_HAS_EXPIRED = 12;
    public static final int DEPTH_ZERO_SELF_SIGNED_CERT = 18;
    public static final int SELF_SIGNED_CERT_IN_CHAIN = 19;
    public static final int UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20;
    public static final int UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21;
    public static final int CERT_REVOKED = 23;
    public static final int INVALID_PURPOSE = 26;
    public static final int EE_KEY_TOO_SMALL = 66;
    public static final int CA_KEY_TOO_SMALL = 67;
    public static final int CA_MD_TOO_WEAK = 68;

    private X509VerifyResult() {
    }

    /** OpenSSL's string for a verify result, or null for 0/unknown. */
    public static String reason(int code) {
        return switch (code) {
            case UNABLE_TO_GET_CRL -> "unable to get certificate CRL";
            case CERT_SIGNATURE_FAILURE -> "certificate signature failure";
            case CRL_SIGNATURE_FAILURE -> "CRL signature failure";
            case CERT_NOT_YET_VALID -> "certificate is not yet valid";
            case CERT_HAS_EXPIRED -> "certificate has expired";
            case CRL_NOT_YET_VALID -> "CRL is not yet valid";
            case CRL_HAS_EXPIRED -> "CRL has expired";
            case DEPTH_ZERO_SELF_SIGNED_CERT -> "self-signed certificate";
            case SELF_SIGNED_CERT_IN_CHAIN -> "self-signed certificate in certificate chain";
            case UNABLE_TO_GET_ISSUER_CERT_LOCALLY -> "unable to get local issuer certificate";
            case UNABLE_TO_VERIFY_LEAF_SIGNATURE -> "unable to verify the first certificate";
            case CERT_REVOKED -> "certificate revoked";
            case INVALID_PURPOSE -> "unsuitable certificate purpose";
            case EE_KEY_TOO_SMALL -> "EE certificate key too weak";
            case CA_KEY_TOO_SMALL -> "CA certificate key too weak";
            case CA_MD_TOO_WEAK -> "CA signature digest algorithm too weak";
            default -> null;
        };
    }
}
