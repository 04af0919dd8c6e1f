package org.tlsjail.listener;

import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.Objects;

/**
 * One failed handshake, classified.
 *
 * @param remote          the client's address and port
 * @param kind            the classification
 * @param code            the OpenSSL 3 packed error code to log
 * @param reason          the OpenSSL reason string, with the X509 verify result appended for a
 *                        rejected certificate, e.g. {@code certificate verify failed (certificate has expired)}
 * @param peerCommonName  CN of a rejected client certificate: raw, unsanitised client text, or null
 * @param at              when the failure was seen
 */
public record HandshakeFailure(
        InetSocketAddress remote, FailureKind kind, long code, String reason, String peerCommonName, Instant at) {
    public HandshakeFailure {
        Objects.requireNonNull(remote, "remote");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(at, "at");
    }
}
