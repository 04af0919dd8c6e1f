package org.tlsjail.bridge.nftables;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
import org.tlsjail.bridge.QueueSettings;

/**
 * The nftables bridge's settings, one component per YAML key under {@code bridge.nftables}.
 * Immutable and checked when built, so a configuration that holds one needs no further check.
 *
 * @param nft        {@code bridge.nftables.nft}: the nft program; a bare name is looked up on PATH
 *                   and in /usr/sbin, /sbin
 * @param table      {@code bridge.nftables.table}: name of tlsjail's own table (family inet)
 * @param port       {@code bridge.nftables.port}: the TCP port whose new connections are refused
 *                   (the listener's port)
 * @param action     {@code bridge.nftables.action}: drop or reject
 * @param keepOnStop {@code bridge.nftables.keep-on-stop}: leave the table (and the bans, which expire
 *                   by their own timeouts) in place when tlsjail stops
 * @param queue      {@code timeout} (longest run of one nft command), {@code max-pending} and
 *                   {@code reconcile-interval} (how often the table is checked, recreated if someone
 *                   deleted it, e.g. a firewall reload, and long bans' element timeouts refreshed);
 *                   the retry delays are fixed (1 s doubling to 1 min), not keys of this section
 */
public record NftablesBridgeConfig(Path nft, String table, int port, NftAction action, boolean keepOnStop,
                                   QueueSettings queue) {

    public static final String SECTION = "bridge.nftables";
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
        QueueSettings.requireFor(queue, SECTION);
    }

    /** The defaults documented in the README: nft on PATH, table inet tlsjail, port 6619, drop. */
    public static NftablesBridgeConfig defaults() {
        return new NftablesBridgeConfig(Path.of("nft"), "tlsjail", 6619, NftAction.DROP, false, new QueueSettings(SECTION,
                Duration.ofSeconds(10), Duration.ofSeconds(1), Duration.ofMinutes(1), 100_000, Duration.ofMinutes(1)));
    }

    public NftablesBridgeConfig withNft(Path value) {
        return new NftablesBridgeConfig(value, table, port, action, keepOnStop, queue);
    }

    public NftablesBridgeConfig withTable(String value) {
        return new NftablesBridgeConfig(nft, value, port, action, keepOnStop, queue);
    }

    public NftablesBridgeConfig withPort(int value) {
        return new NftablesBridgeConfig(nft, table, value, action, keepOnStop, queue);
    }

    public NftablesBridgeConfig withAction(NftAction value) {
        return new NftablesBridgeConfig(nft, table, port, value, keepOnStop, queue);
    }

    public NftablesBridgeConfig withKeepOnStop(boolean value) {
        return new NftablesBridgeConfig(nft, table, port, action, value, queue);
    }

    public NftablesBridgeConfig withQueue(UnaryOperator<QueueSettings> change) {
        return new NftablesBridgeConfig(nft, table, port, action, keepOnStop, change.apply(queue));
    }
}
