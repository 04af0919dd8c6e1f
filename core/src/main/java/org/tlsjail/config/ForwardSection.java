package org.tlsjail.config;

import java.time.Duration;

/** {@code forward.*}: relay accepted connections to a plain-TCP backend. */
public record ForwardSection(String host, int port, Duration connectTimeout, Duration idleTimeout,
                             ProxyProtocol proxyProtocol, int maxRelays, int maxRelaysPerSource) {

    /** Without relay limits given: the defaults sized to this machine. */
    public ForwardSection(String host, int port, Duration connectTimeout, Duration idleTimeout,
                          ProxyProtocol proxyProtocol) {
        this(host, port, connectTimeout, idleTimeout, proxyProtocol, defaultMaxRelays(), DEFAULT_MAX_RELAYS_PER_SOURCE);
    }

    /** {@code forward.max-relays-per-source} default. */
    public static final int DEFAULT_MAX_RELAYS_PER_SOURCE = 64;

    /**
     * {@code forward.max-relays} default: 512 per CPU core, between 512 and 4096. A relay costs two
     * threads (256 kB stacks, mostly untouched), two 16 kB copy buffers and Bouncy Castle's record
     * buffers (about 100 kB in all, see README's sizing table).
     */
    public static int defaultMaxRelays() {
        return Math.max(512, Math.min(4096, 512 * Runtime.getRuntime().availableProcessors()));
    }

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
