package org.tlsjail.bridge.nftables;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The nftables bridge's settings, one component per YAML key under {@code bridge.nftables}.
 *
 * @param nft               {@code bridge.nftables.nft}: the nft program; a bare name is looked up
 *                          on PATH and in /usr/sbin, /sbin
 * @param table             {@code bridge.nftables.table}: name of tlsjail's own table (family inet)
 * @param port              {@code bridge.nftables.port}: the TCP port whose new connections are
 *                          refused (the listener's port)
 * @param action            {@code bridge.nftables.action}: drop or reject
 * @param keepOnStop        {@code bridge.nftables.keep-on-stop}: leave the table (and the bans, which
 *                          expire by their own timeouts) in place when tlsjail stops
 * @param timeout           {@code bridge.nftables.timeout}: longest run of one nft command
 * @param maxPending        {@code bridge.nftables.max-pending}: addresses queued at most
 * @param reconcileInterval {@code bridge.nftables.reconcile-interval}: how often the table is checked
 *                          (recreated if someone deleted it, e.g. a firewall reload) and long bans'
 *                          element timeouts are refreshed
 */
public record NftablesBridgeConfig(Path nft, String table, int port, NftAction action, boolean keepOnStop,
                                   Duration timeout, int maxPending, Duration reconcileInterval) {

    private static final Pattern TABLE_NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_]{0,31}");

    public NftablesBridgeConfig {
        Objects.requireNonNull(nft, "bridge.nftables.nft");
        if (nft.toString().isBlank()) {
            throw new IllegalArgumentException("bridge.nftables.nft must not be empty");
        }
        if (table == null || !TABLE_NAME.matcher(table).matches()) {
            throw new IllegalArgumentException("bridge.nftables.table: expected a name of 1-32 letters, digits or"
                    + " '_' starting with a letter (the family is always inet), got '" + table + "'");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("bridge.nftables.port must be 1..65535, got " + port);
        }
        Objects.requireNonNull(action, "bridge.nftables.action");
        if (timeout == null || timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("bridge.nftables.timeout must be a positive duration, got " + timeout);
        }
        if (maxPending < 1 || maxPending > 10_000_000) {
            throw new IllegalArgumentException("bridge.nftables.max-pending must be 1..10000000, got " + maxPending);
        }
        if (reconcileInterval == null || reconcileInterval.isNegative() || reconcileInterval.isZero()) {
            throw new IllegalArgumentException("bridge.nftables.reconcile-interval must be a positive duration, got "
                    + reconcileInterval);
        }
    }

    /** The defaults documented in the README: nft on PATH, table inet tlsjail, port 6619, drop. */
    public static NftablesBridgeConfig defaults() {
        return new NftablesBridgeConfig(Path.of("nft"), "tlsjail", 6619, NftAction.DROP, false,
                Duration.ofSeconds(10), 100_000, Duration.ofMinutes(1));
    }

    public NftablesBridgeConfig withNft(Path value) {
        return new NftablesBridgeConfig(value, table, port, action, keepOnStop, timeout, maxPending, reconcileInterval);
    }

    public NftablesBridgeConfig withTable(String value) {
        return new NftablesBridgeConfig(nft, value, port, action, keepOnStop, timeout, maxPending, reconcileInterval);
    }

    public NftablesBridgeConfig withPort(int value) {
        return new NftablesBridgeConfig(nft, table, value, action, keepOnStop, timeout, maxPending, reconcileInterval);
    }

    public NftablesBridgeConfig withAction(NftAction value) {
        return new NftablesBridgeConfig(nft, table, port, value, keepOnStop, timeout, maxPending, reconcileInterval);
    }

    public NftablesBridgeConfig withKeepOnStop(boolean value) {
        return new NftablesBridgeConfig(nft, table, port, action, value, timeout, maxPending, reconcileInterval);
    }

    public NftablesBridgeConfig withTimeout(Duration value) {
        return new NftablesBridgeConfig(nft, table, port, action, keepOnStop, value, maxPending, reconcileInterval);
    }

    public NftablesBridgeConfig withMaxPending(int value) {
        return new NftablesBridgeConfig(nft, table, port, action, keepOnStop, timeout, value, reconcileInterval);
    }

    public NftablesBridgeConfig withReconcileInterval(Duration value) {
        return new NftablesBridgeConfig(nft, table, port, action, keepOnStop, timeout, maxPending, value);
    }
}
