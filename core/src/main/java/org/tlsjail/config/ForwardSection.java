package org.tlsjail.config;

import java.time.Duration;

/** {@code forward.*}: relay accepted connections to a plain-TCP backend. */
public record ForwardSection(String host, int port, Duration connectTimeout, Duration idleTimeout,
                             ProxyProtocol proxyProtocol) {

    /** {@code forward.proxy-protocol}: the header sent to the backend before any client byte. */
    public enum ProxyProtocol {
        NONE, V1, V2;

        public String yamlName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public String target() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
