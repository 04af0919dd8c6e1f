package org.tlsjail.config;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import org.tlsjail.listener.ProxyProtocolSettings;

/**
 * {@code listen.*}: where the TLS port is opened and how many handshakes it runs at once. Port 0
 * picks a free port (tests).
 *
 * @param weights failure kind (config name, e.g. {@code unexpected-eof}) to the weight the engine
 *                counts it with; kinds not named count 1
 * @param proxyProtocol {@code proxy-protocol}, {@code trusted-proxies}, {@code proxy-header-timeout}
 */
public record ListenSettings(InetAddress address, int port, int backlog, int maxHandshakesPerSource,
                             int maxHandshakesTotal, int handshakeThreads, Map<String, Integer> weights,
                             ProxyProtocolSettings proxyProtocol) {
    public ListenSettings {
        weights = Map.copyOf(weights);
        java.util.Objects.requireNonNull(proxyProtocol, "proxyProtocol");
    }

    public InetSocketAddress socketAddress() {
        return new InetSocketAddress(address, port);
    }
}
