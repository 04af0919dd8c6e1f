package org.tlsjail.bridge.haproxy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tlsjail.banengine.Addresses;
import org.tlsjail.bridge.QueueSettings;

/**
 * The HAProxy bridge's settings, one component per YAML key under {@code bridge.haproxy}.
 * Immutable and checked when built, so a configuration that holds one needs no further check.
 *
 * @param socket  {@code bridge.haproxy.socket}: HAProxy's stats socket (unix), which must be declared
 *                {@code level admin}; null when {@code address} is used
 * @param address {@code bridge.haproxy.address}: the stats socket on TCP, loopback only (the runtime
 *                API has no authentication); null when {@code socket} is used
 * @param acl     {@code bridge.haproxy.acl}: the ACL file exactly as HAProxy's configuration names it
 *                ({@code src -f <file>}), or {@code #<id>}
 * @param queue   {@code timeout} (longest wait for one request), {@code retry-min}, {@code retry-max},
 *                {@code max-pending} and {@code reconcile-interval} (how often the ACL is made to hold
 *                exactly the active bans: after a HAProxy restart or reload it is what the file holds)
 */
public record HaproxyBridgeConfig(Path socket, InetSocketAddress address, String acl, QueueSettings queue) {

    public static final String SECTION = "bridge.haproxy";
    /** What HAProxy's CLI takes as one word: no spaces, no {@code ;} (its command separator), no escapes. */
    private static final Pattern ACL = Pattern.compile("#[0-9]{1,9}|/[A-Za-z0-9._/+@=-]{1,4000}");
    private static final Pattern IP_PORT = Pattern.compile("\\[?([0-9A-Fa-f:.]+)\\]?:([0-9]{1,5})");

    public HaproxyBridgeConfig {
        if ((socket == null) == (address == null)) {
            throw new IllegalArgumentException("bridge.haproxy.socket: set either bridge.haproxy.socket (unix) or"
                    + " bridge.haproxy.address (TCP, loopback), not both");
        }
        if (address != null && (address.getAddress() == null || !address.getAddress().isLoopbackAddress())) {
            throw new IllegalArgumentException("bridge.haproxy.address: must be a loopback address (the runtime API"
                    + " has no authentication), got " + address);
        }
        if (acl == null || !ACL.matcher(acl).matches()) {
            throw new IllegalArgumentException("bridge.haproxy.acl: expected the ACL file's absolute path as HAProxy's"
                    + " configuration names it (letters, digits, . _ / + @ = -) or #<id>, got '" + acl + "'");
        }
        QueueSettings.requireFor(queue, SECTION);
    }

    /** Debian's stats socket and an ACL file next to HAProxy's configuration. */
    public static HaproxyBridgeConfig defaults() {
        return new HaproxyBridgeConfig(Path.of("/run/haproxy/admin.sock"), null, "/etc/haproxy/tlsjail-banned.acl",
                new QueueSettings(SECTION, Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofMinutes(1), 100_000,
                        Duration.ofMinutes(1)));
    }

    /**
     * {@code bridge.haproxy.address} as written: an IP literal and a port ({@code 127.0.0.1:9999},
     * {@code [::1]:9999}); host names are not resolved, so checking a configuration sends no query.
     */
    public static InetSocketAddress parseAddress(String text) {
        Matcher m = IP_PORT.matcher(String.valueOf(text));
        if (!m.matches() || Integer.parseInt(m.group(2)) < 1 || Integer.parseInt(m.group(2)) > 65535) {
            throw new IllegalArgumentException("bridge.haproxy.address: expected a loopback IP:PORT such as"
                    + " 127.0.0.1:9999, got '" + text + "'");
        }
        InetAddress ip;
        try {
            ip = Addresses.parseLiteral(m.group(1));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bridge.haproxy.address: '" + text + "' is not IP:PORT (host names"
                    + " are not resolved)", e);
        }
        return new InetSocketAddress(ip, Integer.parseInt(m.group(2)));
    }

    /** Where the runtime API is. */
    public SocketAddress endpoint() {
        return socket != null ? UnixDomainSocketAddress.of(socket) : address;
    }

    /** For messages and status. */
    public String endpointName() {
        return socket != null ? socket.toString() : address.getHostString() + ":" + address.getPort();
    }

    public HaproxyBridgeConfig withSocket(Path value) {
        return new HaproxyBridgeConfig(value, null, acl, queue);
    }

    /** {@code host:port} on loopback, instead of the unix socket. */
    public HaproxyBridgeConfig withAddress(InetSocketAddress value) {
        return new HaproxyBridgeConfig(null, value, acl, queue);
    }

    public HaproxyBridgeConfig withAcl(String value) {
        return new HaproxyBridgeConfig(socket, address, value, queue);
    }

    public HaproxyBridgeConfig withQueue(UnaryOperator<QueueSettings> change) {
        return new HaproxyBridgeConfig(socket, address, acl, change.apply(queue));
    }

    @Override
    public String toString() {
        return "haproxy acl " + acl + " at " + endpointName();
    }
}
