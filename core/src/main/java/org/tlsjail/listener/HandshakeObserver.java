package org.tlsjail.listener;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.util.List;
import org.tlsjail.banengine.FailureOutcome;

/**
 * Receives handshake outcomes (for metrics, logs, ...). Called on handshake threads or the accept
 * thread: implementations must be fast and must not block. Exceptions are logged and ignored.
 */
public interface HandshakeObserver {
    /**
     * Why a connection was refused before any TLS work. SERVER_BUSY: its ClientHello waited for a
     * handshake slot (its source had as many handshakes running as it may) until its time ran out;
     * not counted against the source. UNTRUSTED_PROXY: with listen.proxy-protocol on, a peer that is
     * not a trusted balancer; counted against nobody.
     */
    enum Refusal { BANNED, SOURCE_LIMIT, TOTAL_LIMIT, SERVER_BUSY, UNTRUSTED_PROXY }

    /** A handshake completed; {@code peerChain} is empty when no client certificate was sent. */
    default void onSuccess(InetSocketAddress remote, List<X509Certificate> peerChain) {
    }

    /** A handshake failed; {@code outcome} is what the ban engine made of it. */
    default void onFailure(HandshakeFailure failure, FailureOutcome outcome) {
    }

    /** A connection was refused (closed with RST) before any TLS object existed. */
    default void onRefused(InetAddress source, Refusal refusal) {
    }

    /**
     * A trusted balancer's connection was closed for its PROXY header ({@code reason}: missing,
     * truncated, malformed, timeout, reset). Counted against nobody.
     */
    default void onProxyHeaderFailure(InetAddress balancer, String reason) {
    }
}
