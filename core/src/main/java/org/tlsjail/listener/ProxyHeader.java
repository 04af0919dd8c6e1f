package org.tlsjail.listener;

import java.net.InetSocketAddress;

/**
 * What a balancer's PROXY protocol header said about one connection.
 *
 * @param source      the client's address and port, or null when the header names none (v2 LOCAL,
 *                    v1 UNKNOWN, v2 UNSPEC or UNIX family): the connection's own endpoints apply
 * @param destination the address the client connected to, or null like {@code source}
 */
record ProxyHeader(InetSocketAddress source, InetSocketAddress destination) {
    static final ProxyHeader LOCAL = new ProxyHeader(null, null);

    /** True when the connection's real endpoints apply (a health check, an unknown family). */
    boolean isLocal() {
        return source == null;
    }
}
