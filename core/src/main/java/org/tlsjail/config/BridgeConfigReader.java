package org.tlsjail.config;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import org.tlsjail.banengine.FailDuration;
import org.tlsjail.bridge.BridgeConfig;
import org.tlsjail.bridge.QueueSettings;
import org.tlsjail.bridge.fail2ban.Fail2BanBridgeConfig;
import org.tlsjail.bridge.fail2ban.Fail2BanMode;
import org.tlsjail.bridge.haproxy.HaproxyBridgeConfig;
import org.tlsjail.bridge.nftables.NftAction;
import org.tlsjail.bridge.nftables.NftablesBridgeConfig;

/**
 * Reads {@code bridge:} into the netfilter-bridge module's records like every other section: keys
 * and types strictly, with file:line:column; then each record's own checks (ranges, and the names
 * that reach nft, Fail2Ban or HAProxy), their messages pointed at the option they name. Defaults
 * come from the records. Nothing is built, opened or started, so {@code config check} stays pure.
 *
 * <p>A section without {@code enabled: true} is checked all the same (a mistake must show when it
 * is made, not months later when someone enables it) and then left out of the result.
 */
final class BridgeConfigReader {
    private BridgeConfigReader() {
    }

    /** @param listenPort what {@code bridge.nftables.port} defaults to */
    static BridgeConfig read(YamlSection bridge, Path baseDir, int listenPort) throws ConfigException {
        Fail2BanBridgeConfig fail2ban = enabled(bridge, "fail2ban", s -> fail2ban(s, baseDir));
        NftablesBridgeConfig nftables = enabled(bridge, "nftables", s -> nftables(s, listenPort));
        HaproxyBridgeConfig haproxy = enabled(bridge, "haproxy", s -> haproxy(s, baseDir));
        bridge.finish();
        return new BridgeConfig(fail2ban, nftables, haproxy);
    }

    private interface Reader<T> {
        T read(YamlSection s) throws ConfigException;
    }

    private static <T> T enabled(YamlSection bridge, String name, Reader<T> reader) throws ConfigException {
        if (!bridge.has(name)) {
            bridge.value(name); // absent or null: known, nothing to check
            return null;
        }
        YamlSection s = bridge.section(name);
        boolean enabled = s.bool("enabled", false);
        T config;
        try {
            config = reader.read(s);
        } catch (IllegalArgumentException e) {
            throw s.rejected(e);
        }
        s.finish();
        return enabled ? config : null;
    }

    private static Fail2BanBridgeConfig fail2ban(YamlSection s, Path baseDir) throws ConfigException {
        Fail2BanBridgeConfig d = Fail2BanBridgeConfig.defaults();
        String mode = s.string("mode", null);
        return new Fail2BanBridgeConfig(ConfigLoader.path(s, "socket", baseDir, d.socket()), s.string("jail", d.jail()),
                mode == null ? d.mode() : Fail2BanMode.parse(mode), queue(s, d.queue(), true));
    }

    private static NftablesBridgeConfig nftables(YamlSection s, int listenPort) throws ConfigException {
        NftablesBridgeConfig d = NftablesBridgeConfig.defaults();
        // a bare name is looked up on PATH, so nft is not resolved against the file's directory
        Path nft = Path.of(s.string("nft", d.nft().toString()));
        String table = s.string("table", d.table());
        int port = s.integer("port", listenPort, Integer.MIN_VALUE, Integer.MAX_VALUE);
        String action = s.string("action", null);
        return new NftablesBridgeConfig(nft, table, port, action == null ? d.action() : NftAction.parse(action),
                s.bool("keep-on-stop", d.keepOnStop()), queue(s, d.queue(), false));
    }

    private static HaproxyBridgeConfig haproxy(YamlSection s, Path baseDir) throws ConfigException {
        HaproxyBridgeConfig d = HaproxyBridgeConfig.defaults();
        String address = s.string("address", null);
        Path socket = ConfigLoader.path(s, "socket", baseDir, address == null ? d.socket() : null);
        if (socket != null && address != null) {
            throw s.error(s.value("address"), "address", "set either bridge.haproxy.socket (unix) or"
                    + " bridge.haproxy.address (TCP, loopback), not both");
        }
        InetSocketAddress tcp = address == null ? null : HaproxyBridgeConfig.parseAddress(address);
        return new HaproxyBridgeConfig(socket, tcp, s.string("acl", d.acl()), queue(s, d.queue(), true));
    }

    /** The keys every bridge shares; {@code retry-min}/{@code retry-max} only where the bridge has them. */
    private static QueueSettings queue(YamlSection s, QueueSettings d, boolean retries) throws ConfigException {
        Duration timeout = duration(s, "timeout", d.timeout());
        Duration retryMin = retries ? duration(s, "retry-min", d.retryMin()) : d.retryMin();
        Duration retryMax = retries ? duration(s, "retry-max", d.retryMax()) : d.retryMax();
        // the range is the record's to check, so its message is the one users see
        int maxPending = s.integer("max-pending", d.maxPending(), Integer.MIN_VALUE, Integer.MAX_VALUE);
        Duration reconcile = duration(s, "reconcile-interval", d.reconcileInterval());
        return new QueueSettings(d.section(), timeout, retryMin, retryMax, maxPending, reconcile);
    }

    /** Durations here are waits: -1 (which means a permanent ban elsewhere) is refused. */
    private static Duration duration(YamlSection s, String name, Duration dflt) throws ConfigException {
        Duration d = ConfigLoader.duration(s, name, dflt);
        if (d.equals(FailDuration.PERMANENT)) {
            throw s.error(s.value(name), name, "-1 (permanent) is not a valid value here");
        }
        return d;
    }
}
