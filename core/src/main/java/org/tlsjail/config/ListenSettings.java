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
 * @param partners       {@code listen.partners}: sources that always get a partner's service
 * @param partnerWindow  {@code listen.partner-window}: a successful handshake makes its source a partner this long
 * @param partnerReserve {@code listen.partner-reserve}: places of max-handshakes-total kept for partners
 * @param maxUnprovenHandshakes {@code listen.max-unproven-handshakes}: handshakes past the ClientHello of
 *                       sources that are not known partners, all together
 * @param proxyProtocol  {@code proxy-protocol}, {@code trusted-proxies}, {@code proxy-header-timeout}
 */
public record ListenSettings(InetAddress address, int port, int backlog, int maxHandshakesPerSource,
                             int maxHandshakesTotal, int handshakeThreads, Map<String, Integer> weights,
                             java.util.List<org.tlsjail.banengine.SourceKey> partners, java.time.Duration partnerWindow,
                             int partnerReserve, int maxUnprovenHandshakes, ProxyProtocolSettings proxyProtocol) {
    public ListenSettings {
        weights = Map.copyOf(weights);
        partners = java.util.List.copyOf(partners);
        java.util.Objects.requireNonNull(proxyProtocol, "proxyProtocol");
    }

    /** Without a PROXY header stage. */
    public ListenSettings(InetAddress address, int port, int backlog, int maxHandshakesPerSource,
                          int maxHandshakesTotal, int handshakeThreads, Map<String, Integer> weights,
                          java.util.List<org.tlsjail.banengine.SourceKey> partners, java.time.Duration partnerWindow,
                          int partnerReserve) {
        this(address, port, backlog, maxHandshakesPerSource, maxHandshakesTotal, handshakeThreads, weights, partners,
                partnerWindow, partnerReserve, org.tlsjail.listener.ListenerConfig.defaultMaxUnprovenHandshakes(),
                ProxyProtocolSettings.OFF);
    }

    /** Without the partner options: none listed, 1 hour window, the default reserve. */
    public ListenSettings(InetAddress address, int port, int backlog, int maxHandshakesPerSource,
                          int maxHandshakesTotal, int handshakeThreads, Map<String, Integer> weights) {
        this(address, port, backlog, maxHandshakesPerSource, maxHandshakesTotal, handshakeThreads, weights,
                java.util.List.of(), java.time.Duration.ofHours(1), Math.min(256, maxHandshakesTotal / 4));
    }

    public InetSocketAddress socketAddress() {
        return new InetSocketAddress(address, port);
    }
}
