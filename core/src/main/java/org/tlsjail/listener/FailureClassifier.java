package org.tlsjail.listener;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.bouncycastle.tls.AlertDescription;
import org.bouncycastle.tls.TlsFatalAlert;
import org.bouncycastle.tls.TlsFatalAlertReceived;
import org.tlsjail.tls.ClientCertificateRejectedException;

/**
 * Maps a failed handshake to what an OpenSSL 3 server would have logged. Uses typed signals only:
 * bytes read by tlsjail itself, EOF/errors seen on its own reads, BC's alert objects and
 * tlsjail's own {@link ClientCertificateRejectedException}; never exception message text.
 */
final class FailureClassifier {
    /** OpenSSL's limit for one record: SSL3_RT_MAX_ENCRYPTED_LENGTH = 16384 + 256 + 64. */
    static final int MAX_RECORD_LENGTH = 16384 + 320;
    /** How many bytes the listener peeks before handing the connection to TLS. */
    static final int PEEK = 5;

    private FailureClassifier() {
    }

    /**
     * Judges the first bytes of a connection (up to {@link #PEEK}). Returns null when they may
     * start a TLS handshake record, otherwise the failure, as OpenSSL's record layer would.
     */
    static FailureKind judgePrefix(byte[] b, int n) {
        if (n == 0) {
            return FailureKind.UNEXPECTED_EOF;
        }
        String s = new String(b, 0, n, StandardCharsets.ISO_8859_1);
        // OpenSSL's ssl3_get_record checks exactly these prefixes on the first record.
        if (s.startsWith("GET ") || s.startsWith("POST ") || s.startsWith("HEAD ") || s.startsWith("PUT ")) {
            return FailureKind.HTTP_REQUEST;
        }
        if (s.startsWith("CONNE")) {
            return FailureKind.HTTPS_PROXY_REQUEST;
        }
        int type = b[0] & 0xFF;
        if (type < 20 || type > 23) {
            return n < PEEK && prefixOfHttp(s) ? FailureKind.UNEXPECTED_EOF : FailureKind.WRONG_VERSION_NUMBER;
        }
        if (n >= 2 && (b[1] & 0xFF) != 3) {
            return FailureKind.WRONG_VERSION_NUMBER;
        }
        if (n < PEEK) {
            return FailureKind.UNEXPECTED_EOF;
        }
        int len = ((b[3] & 0xFF) << 8) | (b[4] & 0xFF);
        if (len > MAX_RECORD_LENGTH) {
            return FailureKind.PACKET_LENGTH_TOO_LONG;
        }
        return null;
    }

    private static boolean prefixOfHttp(String s) {
        for (String p : new String[] {"GET ", "POST ", "HEAD ", "PUT ", "CONNE"}) {
            if (p.startsWith(s)) {
                return true;
            }
        }
        return false;
    }

    static HandshakeFailure failure(InetSocketAddress remote, FailureKind kind, Instant at) {
        return new HandshakeFailure(remote, kind, kind.code(), kind.reason(), null, at);
    }

    /** Classifies a failure of the TLS engine (after the prefix looked like TLS). */
    static HandshakeFailure classify(Throwable error, WireObservation wire, boolean timedOut, boolean clientAuthRequired,
            InetSocketAddress remote, Instant at) {
        if (timedOut) {
            return failure(remote, FailureKind.HANDSHAKE_TIMEOUT, at);
        }
        ClientCertificateRejectedException rejected = find(error, ClientCertificateRejectedException.class);
        if (rejected != null) {
            String reason = FailureKind.CERTIFICATE_REJECTED.reason()
                    + (rejected.verifyReason() == null ? "" : " (" + rejected.verifyReason() + ")");
            return new HandshakeFailure(remote, FailureKind.CERTIFICATE_REJECTED, FailureKind.CERTIFICATE_REJECTED.code(),
                    reason, rejected.commonName(), at);
        }
        TlsFatalAlertReceived received = find(error, TlsFatalAlertReceived.class);
        if (received != null) {
            int a = received.getAlertDescription() & 0xFF;
            return new HandshakeFailure(remote, FailureKind.ALERT_RECEIVED, FailureKind.ALERT_RECEIVED.code() + a,
                    OpenSslAlerts.reason(a), null, at);
        }
        TlsFatalAlert sent = find(error, TlsFatalAlert.class);
        short alert = sent == null ? -1 : sent.getAlertDescription();
        if (alert == AlertDescription.certificate_required
                || (alert == AlertDescription.handshake_failure && wire.clientSentEmptyCertificate && clientAuthRequired)) {
            return failure(remote, FailureKind.NO_CERTIFICATE, at);
        }
        if (wire.eof) {
            return failure(remote, FailureKind.UNEXPECTED_EOF, at);
        }
        if (wire.readError || wire.writeError) {
            return failure(remote, FailureKind.CONNECTION_RESET, at);
        }
        if (alert == AlertDescription.protocol_version) {
            return failure(remote, FailureKind.UNSUPPORTED_PROTOCOL, at);
        }
        if ((alert == AlertDescription.handshake_failure || alert == AlertDescription.insufficient_security)
                && !wire.serverSentHandshake) {
            return failure(remote, FailureKind.NO_SHARED_CIPHER, at);
        }
        if (alert == AlertDescription.record_overflow) {
            return failure(remote, FailureKind.PACKET_LENGTH_TOO_LONG, at);
        }
        if (alert == AlertDescription.unexpected_message) {
            return failure(remote, FailureKind.UNEXPECTED_MESSAGE, at);
        }
        return failure(remote, FailureKind.HANDSHAKE_FAILURE, at);
    }

    private static <T extends Throwable> T find(Throwable t, Class<T> type) {
        for (int depth = 0; t != null && depth < 16; depth++, t = t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
            for (Throwable s : t.getSuppressed()) {
                if (type.isInstance(s)) {
                    return type.cast(s);
                }
            }
        }
        return null;
    }
}
