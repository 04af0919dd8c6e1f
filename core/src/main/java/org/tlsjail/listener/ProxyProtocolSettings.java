package org.tlsjail.listener;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.tlsjail.banengine.SourceKey;

/**
 * Reading HAProxy's PROXY protocol header from trusted balancers ({@code listen.proxy-protocol},
 * {@code listen.trusted-proxies}, {@code listen.proxy-header-timeout}).
 *
 * <p>The specification forbids guessing whether a header is present: with a version set, every
 * connection must come from one of {@code trustedProxies} and start with a valid header; any other
 * peer is reset. Addresses inside {@code trustedProxies} are never counted or banned.
 *
 * @param version        which header versions are accepted; {@link Version#NONE} turns the stage off
 * @param trustedProxies the balancers' addresses or CIDR blocks (at least one when on)
 * @param headerTimeout  how long a trusted peer may take to send the whole header
 */
public record ProxyProtocolSettings(Version version, List<SourceKey> trustedProxies, Duration headerTimeout) {
    /** The listener reads no header: the TCP peer is the client. */
    public static final ProxyProtocolSettings OFF = new ProxyProtocolSettings(Version.NONE, List.of(), Duration.ofSeconds(3));

    /** {@code listen.proxy-protocol}. */
    public enum Version {
        NONE, V1, V2, ANY;

        public String yamlName() {
            return name().toLowerCase(Locale.ROOT);
        }

        boolean acceptsV1() {
            return this == V1 || this == ANY;
        }

        boolean acceptsV2() {
            return this == V2 || this == ANY;
        }
    }

    public ProxyProtocolSettings {
        Objects.requireNonNull(version, "proxy-protocol");
        Objects.requireNonNull(headerTimeout, "proxy-header-timeout");
        trustedProxies = List.copyOf(trustedProxies);
        if (version != Version.NONE && trustedProxies.isEmpty()) {
            throw new IllegalArgumentException("trusted-proxies must name at least one address when proxy-protocol is "
                    + version.yamlName());
        }
        if (headerTimeout.isNegative() || headerTimeout.isZero()) {
            throw new IllegalArgumentException("proxy-header-timeout must be positive, got " + headerTimeout);
        }
    }

    public boolean enabled() {
        return version != Version.NONE;
    }

    /** True if {@code peer} is one of the balancers (inside a {@code trusted-proxies} entry). */
    public boolean trusts(InetAddress peer) {
        for (SourceKey k : trustedProxies) {
            if (k.contains(peer)) {
                return true;
            }
        }
        return false;
    }
}
