package org.tlsjail.cluster;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * How a node reaches the cluster's Redis and names itself there.
 *
 * @param uri         {@code redis://host:port[/db]}, {@code rediss://...} (TLS) or
 *                    {@code redis-sentinel://host:port[,host:port]#master}; never carries a password
 * @param caFile      CA bundle (PEM) a {@code rediss://} server certificate is checked against, or
 *                    null for the JVM's default trust store
 * @param username    ACL user name, or null for the default user
 * @param password    the password read from the password file, or null for none
 * @param prefix      key prefix; every key is {@code {prefix}:...} so they share one hash slot
 * @param timeout     bound on every Redis request and on connecting
 * @param nodeName    this node's name in events, {@code tlsjail banned} and status
 * @param streamLength how many events the shared stream keeps (approximately) for nodes catching up
 */
public record ClusterSettings(String uri, Path caFile, String username, char[] password, String prefix,
                              Duration timeout, String nodeName, int streamLength) {

    /** Node names and key prefixes: letters, digits, dot, underscore, dash, colon (prefix only). */
    public static final Pattern NODE_NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    public static final Pattern PREFIX = Pattern.compile("[A-Za-z0-9._:-]{1,64}");
    public static final int DEFAULT_STREAM_LENGTH = 100_000;

    public ClusterSettings {
        Objects.requireNonNull(uri, "uri");
        Objects.requireNonNull(timeout, "timeout");
        if (!PREFIX.matcher(prefix).matches()) {
            throw new IllegalArgumentException("cluster.key-prefix must be 1-64 of A-Z a-z 0-9 . _ : -");
        }
        if (!NODE_NAME.matcher(nodeName).matches()) {
            throw new IllegalArgumentException("cluster.node-name must be 1-64 of A-Z a-z 0-9 . _ -");
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("cluster.timeout must be positive");
        }
        if (streamLength < 100) {
            throw new IllegalArgumentException("cluster.stream-length must be at least 100");
        }
    }

    /** Equal settings need no restart; the password is compared by content. */
    @Override
    public boolean equals(Object o) {
        return o instanceof ClusterSettings s && uri.equals(s.uri) && Objects.equals(caFile, s.caFile)
                && Objects.equals(username, s.username) && java.util.Arrays.equals(password, s.password)
                && prefix.equals(s.prefix) && timeout.equals(s.timeout) && nodeName.equals(s.nodeName)
                && streamLength == s.streamLength;
    }

    @Override
    public int hashCode() {
        return Objects.hash(uri, caFile, username, prefix, timeout, nodeName, streamLength);
    }

    /** Never prints the password. */
    @Override
    public String toString() {
        return "ClusterSettings[" + uri + ", user " + username + ", prefix " + prefix + ", node " + nodeName + "]";
    }
}
