package org.tlsjail.bridge.haproxy;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;

/**
 * The HAProxy bridge's settings, one component per YAML key under {@code bridge.haproxy}.
 *
 * @param socket            {@code bridge.haproxy.socket}: HAProxy's stats socket (unix), which must
 *                          be declared {@code level admin}; null when {@code address} is used
 * @param address           {@code bridge.haproxy.address}: the stats socket on TCP, loopback only
 *                          (the runtime API has no authentication); null when {@code socket} is used
 * @param acl               {@code bridge.haproxy.acl}: the ACL file exactly as HAProxy's
 *                          configuration names it ({@code src -f <file>}), or {@code #<id>}
 * @param timeout           {@code bridge.haproxy.timeout}: longest wait for one request
 * @param retryMin          {@code bridge.haproxy.retry-min}: first retry delay after a failure
 * @param retryMax          {@code bridge.haproxy.retry-max}: longest retry delay
 * @param maxPending        {@code bridge.haproxy.max-pending}: addresses queued at most
 * @param reconcileInterval {@code bridge.haproxy.reconcile-interval}: how often the ACL is made to
 *                          hold exactly the active bans (after a HAProxy restart or reload it is
 *                          what the file on disk holds)
 */
public record HaproxyBridgeConfig(Path socket, InetSocketAddress address, String acl, Duration timeout,
                                  Duration retryMin, Duration retryMax, int maxPending, Duration reconcileInterval) {

    /** What HAProxy's CLI takes as one word: no spaces, no {@code ;} (its command separator), no escapes. */
    private static final Pattern ACL = Pattern.compile("#[0-9]{1,9}|/[A-Za-z0-9._/+@=-]{1,4000}");

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
        positive(timeout, "timeout");
        positive(retryMin, "retry-min");
        positive(retryMax, "retry-max");
        positive(reconcileInterval, "reconcile-interval");
        if (retryMax.compareTo(retryMin) < 0) {
            throw new IllegalArgumentException("bridge.haproxy.retry-max must be at least bridge.haproxy.retry-min");
        }
        if (maxPending < 1 || maxPending > 10_000_000) {
            throw new IllegalArgumentException("bridge.haproxy.max-pending must be 1..10000000, got " + maxPending);
        }
    }

    private static void positive(Duration d, String key) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("bridge.haproxy." + key + " must be a positive duration, got " + d);
        }
    }

    /** Debian's stats socket and an ACL file next to HAProxy's configuration. */
    public static HaproxyBridgeConfig defaults() {
        return new HaproxyBridgeConfig(Path.of("/run/haproxy/admin.sock"), null, "/etc/haproxy/tlsjail-banned.acl",
                Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofMinutes(1), 100_000, Duration.ofMinutes(1));
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
        return new HaproxyBridgeConfig(value, null, acl, timeout, retryMin, retryMax, maxPending, reconcileInterval);
    }

    /** {@code host:port} on loopback, instead of the unix socket. */
    public HaproxyBridgeConfig withAddress(InetSocketAddress value) {
        return new HaproxyBridgeConfig(null, value, acl, timeout, retryMin, retryMax, maxPending, reconcileInterval);
    }

    public HaproxyBridgeConfig withAcl(String value) {
        return new HaproxyBridgeConfig(socket, address, value, timeout, retryMin, retryMax, maxPending, reconcileInterval);
    }

    public HaproxyBridgeConfig withTimeout(Duration value) {
        return new HaproxyBridgeConfig(socket, address, acl, value, retryMin, retryMax, maxPending, reconcileInterval);
    }

    public HaproxyBridgeConfig withRetry(Duration min, Duration max) {
        return new HaproxyBridgeConfig(socket, address, acl, timeout, min, max, maxPending, reconcileInterval);
    }

    public HaproxyBridgeConfig withMaxPending(int value) {
        return new HaproxyBridgeConfig(socket, address, acl, timeout, retryMin, retryMax, value, reconcileInterval);
    }

    public HaproxyBridgeConfig withReconcileInterval(Duration value) {
        return new HaproxyBridgeConfig(socket, address, acl, timeout, retryMin, retryMax, maxPending, value);
    }

    @Override
    public String toString() {
        return "haproxy acl " + acl + " at " + endpointName();
    }
}
