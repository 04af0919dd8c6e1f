package org.tlsjail.config;

import java.nio.file.Path;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.bridge.BridgeConfig;

/**
 * The whole, validated configuration of one daemon. Immutable; a reload builds a new one.
 *
 * @param source        the YAML file, or null for the embedded default
 * @param forward       null when accepted connections go to the demo greeter
 * @param metrics       null when metrics are off
 * @param bridge        the bridges {@code bridge:} enables ({@link BridgeConfig#NONE} when none)
 * @param cluster       null when this node runs alone (no {@code cluster:} section)
 */
public record TlsjailConfig(Path source, ListenSettings listen, TlsSection tls, JailConfig jail,
                            Fail2BanLogSection fail2banLog, Path stateDir, Path controlSocket,
                            ForwardSection forward, MetricsSection metrics, BridgeConfig bridge,
                            ClusterSection cluster) {

    public TlsjailConfig {
        java.util.Objects.requireNonNull(bridge, "bridge (BridgeConfig.NONE when absent)");
    }

    /** This configuration with another bridge section. */
    public TlsjailConfig withBridge(BridgeConfig b) {
        return new TlsjailConfig(source, listen, tls, jail, fail2banLog, stateDir, controlSocket, forward, metrics, b,
                cluster);
    }

    /** What the messages call this configuration. */
    public String sourceName() {
        return source == null ? "(embedded default)" : source.toString();
    }
}
