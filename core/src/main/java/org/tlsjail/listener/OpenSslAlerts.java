package org.tlsjail.listener;

/** OpenSSL 3.0's reason strings for fatal alerts received from the peer (reason 1000 + alert). */
final class OpenSslAlerts {
    private OpenSslAlerts() {
    }

    static String reason(int alert) {
        return switch (alert) {
            case 0 -> "sslv3 alert close notify";
            case 10 -> "sslv3 alert unexpected message";
            case 20 -> "sslv3 alert bad record mac";
            case 21 -> "tlsv1 alert decryption failed";
            case 22 -> "tlsv1 alert record overflow";
            case 30 -> "sslv3 alert decompression failure";
            case 40 -> "sslv3 alert handshake failure";
            case 41 -> "sslv3 alert no certificate";
            case 42 -> "sslv3 alert bad certificate";
            case 43 -> "sslv3 alert unsupported certificate";
            case 44 -> "sslv3 alert certificate revoked";
            case 45 -> "sslv3 alert certificate expired";
            case 46 -> "sslv3 alert certificate unknown";
            case 47 -> "sslv3 alert illegal parameter";
            case 48 -> "tlsv1 alert unknown ca";
            case 49 -> "tlsv1 alert access denied";
            case 50 -> "tlsv1 alert decode error";
            case 51 -> "tlsv1 alert decrypt error";
            case 60 -> "tlsv1 alert export restriction";
            case 70 -> "tlsv1 alert protocol version";
            case 71 -> "tlsv1 alert insufficient security";
            case 80 -> "tlsv1 alert internal error";
            case 86 -> "tlsv1 alert inappropriate fallback";
            case 90 -> "tlsv1 alert user cancelled";
            case 100 -> "tlsv1 alert no renegotiation";
            case 109 -> "tlsv13 alert missing extension";
            case 110 -> "tlsv1 unsupported extension";
            case 111 -> "tlsv1 certificate unobtainable";
            case 112 -> "tlsv1 unrecognized name";
            case 113 -> "tlsv1 bad certificate status response";
            case 114 -> "tlsv1 bad certificate hash value";
            case 115 -> "tlsv1 alert unknown psk identity";
            case 116 -> "tlsv13 alert certificate required";
            case 120 -> "tlsv1 alert no application protocol";
            default -> "reason(" + (1000 + alert) + ")";
        };
    }
}
