package org.tlsjail.config;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.Arrays;
import java.util.Set;
import org.tlsjail.cluster.ClusterSettings;
import org.yaml.snakeyaml.nodes.Node;

/**
 * Reads the {@code cluster:} section. The password never appears in the YAML (which is often
 * world-readable and copied around): it is read from {@code password-file}, which must be a
 * regular file (no symlink), not readable or writable by "other".
 */
final class ClusterConfig {
    private static final Set<String> SCHEMES = Set.of("redis", "rediss", "redis-sentinel", "rediss-sentinel");
    private static final int MAX_PASSWORD_BYTES = 512;

    private ClusterConfig() {
    }

    static ClusterSection read(YamlSection s, Path baseDir) throws ConfigException {
        if (!s.has("redis")) {
            throw s.error("redis", "required: the Redis URI, e.g. redis://127.0.0.1:6379 or rediss://redis.example:6380");
        }
        Node uriNode = s.value("redis");
        String uri = s.string("redis", null);
        String scheme = checkUri(s, uriNode, uri);
        Path ca = ConfigLoader.path(s, "ca-file", baseDir, null);
        if (ca != null && !scheme.startsWith("rediss")) {
            throw s.error(s.value("ca-file"), "ca-file", "only used with rediss:// (Redis over TLS)");
        }
        if (ca != null && !Files.isRegularFile(ca)) {
            throw s.error(s.value("ca-file"), "ca-file", ca + ": no such file");
        }
        String user = s.string("username", null);
        Path pwFile = ConfigLoader.path(s, "password-file", baseDir, null);
        char[] password = pwFile == null ? null : readPassword(s, pwFile);
        String prefix = s.string("key-prefix", "tlsjail");
        if (!ClusterSettings.PREFIX.matcher(prefix).matches()) {
            throw s.error(s.value("key-prefix"), "key-prefix", "'" + YamlSection.safe(prefix)
                    + "' must be 1-64 characters of A-Z a-z 0-9 . _ : - (no braces: tlsjail adds the hash tag itself)");
        }
        int timeoutMs = s.integer("timeout-ms", 1000, 10, 60_000);
        Node nameNode = s.has("node-name") ? s.value("node-name") : null;
        String node = s.string("node-name", null);
        if (node == null) {
            node = defaultNodeName();
        } else if (!ClusterSettings.NODE_NAME.matcher(node).matches()) {
            throw s.error(nameNode, "node-name", "'" + YamlSection.safe(node) + "' must be 1-64 characters of A-Z a-z 0-9 . _ -");
        }
        int streamLength = s.integer("stream-length", ClusterSettings.DEFAULT_STREAM_LENGTH, 100, 10_000_000);
        s.finish();
        return new ClusterSection(new ClusterSettings(uri, ca, user, password, prefix, Duration.ofMillis(timeoutMs), node,
                streamLength), pwFile);
    }

    private static String checkUri(YamlSection s, Node node, String uri) throws ConfigException {
        URI u;
        try {
            u = new URI(uri);
        } catch (URISyntaxException e) {
            throw s.error(node, "redis", "not a URI: " + YamlSection.safe(e.getReason()));
        }
        String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(java.util.Locale.ROOT);
        if (!SCHEMES.contains(scheme)) {
            throw s.error(node, "redis", "must start with redis://, rediss:// or redis-sentinel://");
        }
        if (u.getRawAuthority() == null || u.getRawAuthority().contains("@") || u.getRawQuery() != null) {
            throw s.error(node, "redis", "must be scheme://host:port[/db] with no user, password or query in it;"
                    + " use cluster.username and cluster.password-file");
        }
        if (scheme.endsWith("sentinel") && (u.getRawFragment() == null || u.getRawFragment().isEmpty())) {
            throw s.error(node, "redis", "a Sentinel URI names its master after '#': redis-sentinel://host:26379#mymaster");
        }
        return scheme;
    }

    /**
     * The first line of the file. Refused: a symlink, not a regular file, readable or writable by
     * other users (anyone on the host could then join the cluster and ban any address), empty,
     * larger than 512 bytes, not UTF-8.
     */
    private static char[] readPassword(YamlSection s, Path file) throws ConfigException {
        Node at = s.value("password-file");
        try {
            if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
                throw s.error(at, "password-file", file + ": no such file");
            }
            if (Files.isSymbolicLink(file)) {
                throw s.error(at, "password-file", file + " is a symbolic link; point at the file itself");
            }
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                throw s.error(at, "password-file", file + " is not a regular file");
            }
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
            if (perms.contains(PosixFilePermission.OTHERS_READ) || perms.contains(PosixFilePermission.OTHERS_WRITE)) {
                throw s.error(at, "password-file", file + " is readable or writable by other users; chmod o-rw it"
                        + " (e.g. 0600, or 0640 with the daemon's group)");
            }
            byte[] bytes;
            try (SeekableByteChannel ch = Files.newByteChannel(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                ByteBuffer buf = ByteBuffer.allocate(MAX_PASSWORD_BYTES + 2);
                while (buf.hasRemaining() && ch.read(buf) > 0) {
                    // read at most what a password may be, plus a newline and one byte to tell it is longer
                }
                bytes = Arrays.copyOf(buf.array(), buf.position());
                Arrays.fill(buf.array(), (byte) 0);
            }
            int end = 0;
            while (end < bytes.length && bytes[end] != '\n' && bytes[end] != '\r') {
                end++;
            }
            if (end > MAX_PASSWORD_BYTES) {
                throw s.error(at, "password-file", file + ": the password is longer than " + MAX_PASSWORD_BYTES + " bytes");
            }
            if (end == 0) {
                throw s.error(at, "password-file", file + " is empty; its first line is the Redis password");
            }
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes, 0, end));
            Arrays.fill(bytes, (byte) 0);
            char[] pw = new char[chars.remaining()];
            chars.get(pw);
            return pw;
        } catch (NoSuchFileException e) {
            throw s.error(at, "password-file", file + ": no such file");
        } catch (CharacterCodingException e) {
            throw s.error(at, "password-file", file + " is not valid UTF-8");
        } catch (IOException | UnsupportedOperationException e) {
            throw s.error(at, "password-file", file + ": cannot read (" + YamlSection.safe(String.valueOf(e.getMessage())) + ")");
        }
    }

    /** The host name, made a valid node name; "tlsjail" if there is none. */
    static String defaultNodeName() {
        String h;
        try {
            h = java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            h = System.getenv().getOrDefault("HOSTNAME", "");
        }
        String clean = h.replaceAll("[^A-Za-z0-9._-]", "-");
        if (clean.length() > 64) {
            clean = clean.substring(0, 64);
        }
        return clean.isEmpty() ? "tlsjail" : clean;
    }
}
