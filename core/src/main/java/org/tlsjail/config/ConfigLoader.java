package org.tlsjail.config;

import org.tlsjail.tls.CertificatePolicy;
import org.tlsjail.tls.ClientAuth;
import org.tlsjail.tls.RevocationSettings;
import org.tlsjail.tls.TlsPolicy;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.StringReader;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.tlsjail.banengine.Addresses;
import org.tlsjail.banengine.BanTimeIncrement;
import org.tlsjail.banengine.FailDuration;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.banengine.SourceKey;
import org.tlsjail.bridge.BridgeConfig;
import org.tlsjail.listener.ProxyProtocolSettings;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.reader.ReaderException;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.representer.Representer;

/**
 * Reads tlsjail.yaml into a {@link TlsjailConfig}. Strict by design: a key the schema does not
 * know, a value of the wrong type or out of range is a {@link ConfigException} naming file, line,
 * column and key, so a typo can never silently fall back to a default on a security device.
 *
 * <p>Relative paths in a file are resolved against that file's directory; the embedded default
 * (no file) and {@code --state-dir} resolve against the working directory.
 */
public final class ConfigLoader {
    public static final int DEFAULT_PORT = 6619;
    public static final String DEFAULT_STATE_DIR = "tlsjail-state";
    static final List<String> DEFAULT_PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");
    private static final Set<String> KNOWN_PROTOCOLS = Set.of("TLSv1.3", "TLSv1.2");
    private static final int MAX_FILE_BYTES = 1 << 20;
    /** The listener's failure kinds by their YAML names ({@code listen.weights.<kind>}). */
    static final List<String> FAILURE_KINDS = java.util.Arrays.stream(org.tlsjail.listener.FailureKind.values())
            .map(org.tlsjail.listener.FailureKind::configName).toList();
    /** sun_path is 108 bytes on Linux, including the terminating NUL. */
    private static final int MAX_SOCKET_PATH = 107;
    private static final int MAX_PATH_BYTES = 4095;
    private static final int MAX_NAME_BYTES = 255;

    private final Path workingDir;

    public ConfigLoader(Path workingDir) {
        this.workingDir = workingDir.toAbsolutePath().normalize();
    }

    /**
     * @param file             the YAML file, or null for the embedded default
     * @param stateDirOverride {@code --state-dir}, or null
     */
    public TlsjailConfig load(Path file, Path stateDirOverride) throws ConfigException {
        if (file == null) {
            return parse(null, "", workingDir, stateDirOverride);
        }
        Path abs = workingDir.resolve(file).normalize();
        String text;
        try {
            if (!Files.isRegularFile(abs)) {
                throw ConfigException.of(abs, null, Files.exists(abs) ? "not a regular file" : "no such file");
            }
            if (Files.size(abs) > MAX_FILE_BYTES) {
                throw ConfigException.of(abs, null, "larger than " + MAX_FILE_BYTES + " bytes");
            }
            byte[] bytes;
            try (InputStream in = Files.newInputStream(abs)) {
                bytes = in.readNBytes(MAX_FILE_BYTES + 1);
            }
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw ConfigException.of(abs, null, "not valid UTF-8");
        } catch (IOException e) {
            throw ConfigException.of(abs, null, "cannot read: " + e.getMessage());
        }
        return parse(abs, text, abs.getParent(), stateDirOverride);
    }

    /** Parses YAML text; {@code file} is only used in messages and may be null. */
    TlsjailConfig parse(Path file, String text, Path baseDir, Path stateDirOverride) throws ConfigException {
        String source = file == null ? "(embedded default)" : file.toString();
        Node rootNode = compose(source, text);
        YamlSection root = YamlSection.root(source, rootNode);

        // The file's state-dir is still read (and checked): --state-dir overrides it, it is no
        // unknown key, and `config check` without the flag sees the same mistakes.
        Path fileStateDir = path(root, "state-dir", baseDir, baseDir.resolve(DEFAULT_STATE_DIR));
        Path stateDir = stateDirOverride != null ? workingDir.resolve(stateDirOverride).normalize() : fileStateDir;

        ListenSettings listen = listen(root.section("listen"));
        TlsSection tls = tls(root.section("tls"), baseDir);
        JailConfig jail = jail(root.section("jail"));
        Fail2BanLogSection log = fail2banLog(root.section("fail2ban-log"), baseDir, stateDir);

        YamlSection control = root.section("control");
        Path socket = path(control, "socket", baseDir, stateDir.resolve("control.sock"));
        if (socket.toString().getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH) {
            throw control.has("socket")
                    ? control.error(control.value("socket"), "socket", "longer than " + MAX_SOCKET_PATH
                            + " bytes, which a unix socket path cannot be; choose a shorter path")
                    : ConfigException.of(file, "control.socket", socket + " is longer than " + MAX_SOCKET_PATH
                            + " bytes (a unix socket limit); set control.socket or use a shorter state-dir");
        }
        control.finish();

        ForwardSection forward = root.has("forward") ? forward(root.section("forward")) : null;
        if (!root.has("forward")) {
            root.value("forward");
        }
        MetricsSection metrics = null;
        YamlSection m = root.section("metrics");
        if (m.has("listen")) {
            HostPort hp = hostPort(m, "listen");
            metrics = new MetricsSection(hp.host, hp.port);
        } else {
            m.value("listen");
        }
        m.finish();
        BridgeConfig bridge = BridgeConfigReader.read(root.section("bridge"), baseDir, listen.port());
        ClusterSection cluster = root.has("cluster") ? ClusterConfig.read(root.section("cluster"), baseDir) : null;
        if (cluster == null) {
            root.value("cluster");
        }
        root.finish();
        return new TlsjailConfig(file, listen, tls, jail, log, stateDir, socket, forward, metrics, bridge, cluster);
    }

    private static Node compose(String source, String text) throws ConfigException {
        LoaderOptions options = new LoaderOptions();
        // The file is trusted only so far: bound what a hostile or broken one can cost.
        options.setMaxAliasesForCollections(20);
        options.setAllowRecursiveKeys(false);
        options.setNestingDepthLimit(20);
        options.setCodePointLimit(MAX_FILE_BYTES);
        options.setAllowDuplicateKeys(false);
        DumperOptions dumper = new DumperOptions();
        Yaml yaml = new Yaml(new SafeConstructor(options), new Representer(dumper), dumper, options);
        try (Reader r = new StringReader(text)) {
            return yaml.compose(r);
        } catch (MarkedYAMLException e) {
            Mark m = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
            String problem = e.getProblem() != null ? e.getProblem() : e.getContext();
            throw YamlSection.at(source, m, null, "malformed YAML: " + YamlSection.safe(String.valueOf(problem)));
        } catch (ReaderException e) {
            // a character YAML forbids (NUL, other controls): point at it like the parser errors do
            int[] lc = lineColumn(text, e.getPosition());
            throw new ConfigException(source, lc[0], lc[1], null, String.format(Locale.ROOT,
                    "malformed YAML: character U+%04X is not allowed", e.getCodePoint()));
        } catch (YAMLException e) {
            throw new ConfigException(source, 0, 0, null, "malformed YAML: " + YamlSection.safe(String.valueOf(e.getMessage())));
        } catch (IOException e) {
            throw new ConfigException(source, 0, 0, null, "cannot read: " + e.getMessage());
        }
    }

    /** 1-based line and column of the code point at {@code position} (snakeyaml counts code points). */
    private static int[] lineColumn(String text, int position) {
        int line = 1;
        int column = 1;
        int cp = 0;
        for (int i = 0; i < text.length() && cp < position; cp++) {
            int c = text.codePointAt(i);
            i += Character.charCount(c);
            if (c == '\n') {
                line++;
                column = 1;
            } else {
                column++;
            }
        }
        return new int[] {line, column};
    }

    private static ListenSettings listen(YamlSection s) throws ConfigException {
        InetAddress address = address(s, "address", "127.0.0.1");
        int port = s.integer("port", DEFAULT_PORT, 0, 65535);
        int backlog = s.integer("backlog", 256, 1, 65535);
        int perSource = s.integer("max-handshakes-per-source", 8, 1, 100_000);
        int total = s.integer("max-handshakes-total", 4096, 1, 1_000_000);
        if (total < perSource) {
            throw s.error(s.value("max-handshakes-total"), "max-handshakes-total",
                    "must be at least listen.max-handshakes-per-source (" + perSource + ")");
        }
        int threads = s.integer("handshake-threads", 256, 1, 10_000);
        java.util.Map<String, Integer> weights = new java.util.LinkedHashMap<>();
        YamlSection w = s.section("weights");
        for (String kind : FAILURE_KINDS) {
            if (w.has(kind)) {
                weights.put(kind, w.integer(kind, 1, 0, 1000));
            } else {
                w.value(kind);
            }
        }
        w.finish();
        java.util.List<org.tlsjail.banengine.SourceKey> partners = new java.util.ArrayList<>();
        for (String text : s.strings("partners", java.util.List.of())) {
            try {
                partners.add(org.tlsjail.banengine.SourceKey.parse(text));
            } catch (IllegalArgumentException e) {
                throw s.error(s.value("partners"), "partners", "'" + YamlSection.safe(text)
                        + "' is not an address or CIDR (" + e.getMessage() + ")");
            }
        }
        Duration partnerWindow = duration(s, "partner-window", Duration.ofHours(1));
        int reserve = s.integer("partner-reserve", Math.min(256, total / 4), 0, 1_000_000);
        if (reserve >= total) {
            throw s.error(s.value("partner-reserve"), "partner-reserve",
                    "must be below listen.max-handshakes-total (" + total + ")");
        }
        int unproven = s.integer("max-unproven-handshakes", org.tlsjail.listener.ListenerConfig.defaultMaxUnprovenHandshakes(),
                1, 1_000_000);
        ProxyProtocolSettings proxy = proxyProtocol(s);
        s.finish();
        return new ListenSettings(address, port, backlog, perSource, total, threads, weights, partners, partnerWindow,
                reserve, unproven, proxy);
    }

    /**
     * {@code listen.proxy-protocol}, {@code listen.trusted-proxies}, {@code listen.proxy-header-timeout}.
     * The specification forbids guessing, so trusting a header is all or nothing: with a version set
     * the balancers must be named, and the other two keys without one are mistakes.
     */
    private static ProxyProtocolSettings proxyProtocol(YamlSection s) throws ConfigException {
        ProxyProtocolSettings.Version version = enumValue(s, "proxy-protocol", ProxyProtocolSettings.Version.class,
                ProxyProtocolSettings.Version.NONE);
        Node trustedNode = s.has("trusted-proxies") ? s.value("trusted-proxies") : null;
        List<String> trusted = s.strings("trusted-proxies", List.of());
        Duration timeout = duration(s, "proxy-header-timeout", ProxyProtocolSettings.OFF.headerTimeout());
        if (version == ProxyProtocolSettings.Version.NONE) {
            if (trustedNode != null) {
                throw s.error(trustedNode, "trusted-proxies", "only used with listen.proxy-protocol v1, v2 or any");
            }
            if (s.has("proxy-header-timeout")) {
                throw s.error(s.value("proxy-header-timeout"), "proxy-header-timeout",
                        "only used with listen.proxy-protocol v1, v2 or any");
            }
            return ProxyProtocolSettings.OFF;
        }
        if (trusted.isEmpty()) {
            throw s.error(trustedNode != null ? trustedNode : s.value("proxy-protocol"), "trusted-proxies",
                    "required when listen.proxy-protocol is " + version.yamlName()
                            + ": the balancers' addresses or CIDR blocks (only they may send a PROXY header)");
        }
        List<SourceKey> keys = new java.util.ArrayList<>();
        for (String t : trusted) {
            try {
                keys.add(SourceKey.parse(t));
            } catch (IllegalArgumentException e) {
                throw s.error(trustedNode, "trusted-proxies", "'" + YamlSection.safe(t)
                        + "' is not an IP address or CIDR block (host names are not resolved here)");
            }
        }
        if (timeout.compareTo(Duration.ofSeconds(1)) < 0 || timeout.compareTo(Duration.ofMinutes(1)) > 0) {
            throw s.error(s.value("proxy-header-timeout"), "proxy-header-timeout", "must be between 1s and 1m");
        }
        return new ProxyProtocolSettings(version, keys, timeout);
    }

    private static InetAddress address(YamlSection s, String name, String dflt) throws ConfigException {
        Node node = s.has(name) ? s.value(name) : null;
        String text = s.string(name, dflt);
        try {
            return Addresses.parseLiteral(text);
        } catch (IllegalArgumentException e) {
            throw node == null ? s.error(name, e.getMessage())
                    : s.error(node, name, "'" + YamlSection.safe(text) + "' is not an IP address (host names are not resolved here)");
        }
    }

    private static TlsSection tls(YamlSection s, Path baseDir) throws ConfigException {
        Node protoNode = s.has("protocols") ? s.value("protocols") : null;
        List<String> protocols = s.strings("protocols", DEFAULT_PROTOCOLS);
        for (String p : protocols) {
            if (!KNOWN_PROTOCOLS.contains(p)) {
                throw s.error(protoNode, "protocols", "'" + YamlSection.safe(p) + "' is not supported (use TLSv1.3 and/or TLSv1.2)");
            }
        }
        if (protocols.isEmpty()) {
            throw s.error(protoNode, "protocols", "must name at least one protocol");
        }
        Node cipherNode = s.has("cipher-suites") ? s.value("cipher-suites") : null;
        List<String> ciphers = s.strings("cipher-suites", TlsPolicy.DEFAULT_CIPHER_SUITES);
        for (String c : ciphers) {
            if (!c.matches("TLS_[A-Z0-9_]{1,80}")) {
                throw s.error(cipherNode, "cipher-suites", "'" + YamlSection.safe(c)
                        + "' is not an IANA cipher suite name (e.g. TLS_AES_128_GCM_SHA256)");
            }
        }
        if (ciphers.isEmpty()) {
            throw s.error(cipherNode, "cipher-suites", "must name at least one cipher suite");
        }
        Node schemeNode = s.has("signature-schemes") ? s.value("signature-schemes") : null;
        List<String> schemes = s.strings("signature-schemes", TlsPolicy.DEFAULT_SIGNATURE_SCHEMES);
        for (String sc : schemes) {
            if (!TlsPolicy.KNOWN_SIGNATURE_SCHEMES.contains(sc)) {
                throw s.error(schemeNode, "signature-schemes", "'" + YamlSection.safe(sc) + "' is not a signature scheme"
                        + " tlsjail offers (e.g. ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256, rsa_pkcs1_sha1)");
            }
        }
        if (schemes.isEmpty()) {
            throw s.error(schemeNode, "signature-schemes", "must name at least one signature scheme");
        }
        CertificatePolicy d = CertificatePolicy.DEFAULT;
        CertificatePolicy policy = new CertificatePolicy(s.integer("min-rsa-bits", d.minRsaBits(), 1024, 16384),
                s.integer("min-ec-bits", d.minEcBits(), 160, 521),
                enumValue(s, "sha1-signatures", RevocationSettings.Fallback.class, RevocationSettings.Fallback.REJECT)
                        == RevocationSettings.Fallback.ACCEPT);
        RevocationSettings revocation = revocation(s, baseDir);
        Path key = path(s, "key", baseDir, null);
        Path cert = path(s, "cert", baseDir, null);
        Path keystore = path(s, "keystore", baseDir, null);
        String password = s.string("keystore-password", null);
        Path clientCa = path(s, "client-ca", baseDir, null);
        String clientCaPassword = s.string("client-ca-password", null);
        ClientAuth clientAuth = enumValue(s, "client-auth", ClientAuth.class, ClientAuth.REQUIRED);
        Duration handshakeTimeout = duration(s, "handshake-timeout", Duration.ofSeconds(10));
        // below 1 s (0 included, which the listener refuses only once the daemon is half started)
        if (handshakeTimeout.compareTo(Duration.ofSeconds(1)) < 0 || handshakeTimeout.compareTo(Duration.ofMinutes(5)) > 0) {
            throw s.error(s.value("handshake-timeout"), "handshake-timeout", "must be between 1s and 5m");
        }
        if ((key == null) != (cert == null)) {
            String missing = key == null ? "key" : "cert";
            throw s.error(missing, "tls.key and tls.cert go together (PEM private key and certificate chain)");
        }
        if (keystore != null && key != null) {
            throw s.error(s.value("keystore"), "keystore", "set either tls.keystore or tls.key + tls.cert, not both");
        }
        if (password != null && keystore == null) {
            throw s.error(s.value("keystore-password"), "keystore-password", "only used with tls.keystore");
        }
        boolean demo = key == null && keystore == null;
        if (!demo && clientAuth != ClientAuth.NONE && clientCa == null) {
            throw s.error("client-ca", "required when tls.client-auth is " + clientAuth.name().toLowerCase(Locale.ROOT)
                    + " (the CA bundle partner certificates are checked against)");
        }
        s.finish();
        if (revocation != null && clientAuth == ClientAuth.NONE) {
            throw s.error(s.value("crl"), "crl", "client certificates are not asked for (tls.client-auth is none)");
        }
        return new TlsSection(protocols, ciphers, key, cert, keystore, password, clientCa, clientCaPassword, clientAuth,
                handshakeTimeout, schemes, policy, revocation);
    }

    /** {@code tls.crl} (one path or a list; files or directories) and the keys that go with it. */
    private static RevocationSettings revocation(YamlSection s, Path baseDir) throws ConfigException {
        Node crlNode = s.has("crl") ? s.value("crl") : null;
        List<String> texts = s.strings("crl", List.of());
        RevocationSettings.Fallback expired = enumValue(s, "crl-expired", RevocationSettings.Fallback.class,
                RevocationSettings.Fallback.REJECT);
        RevocationSettings.Fallback missing = enumValue(s, "crl-missing", RevocationSettings.Fallback.class,
                RevocationSettings.Fallback.REJECT);
        Duration interval = duration(s, "crl-check-interval", Duration.ofSeconds(10));
        if (interval.compareTo(Duration.ofSeconds(1)) < 0 || interval.compareTo(Duration.ofHours(1)) > 0) {
            throw s.error(s.value("crl-check-interval"), "crl-check-interval", "must be between 1s and 1h");
        }
        if (texts.isEmpty()) {
            for (String k : List.of("crl-expired", "crl-missing", "crl-check-interval")) {
                if (s.has(k)) {
                    throw s.error(s.value(k), k, "only used with tls.crl");
                }
            }
            return null;
        }
        List<Path> paths = new java.util.ArrayList<>();
        for (String t : texts) {
            try {
                Path p = baseDir.resolve(t).normalize();
                if (p.toString().getBytes(StandardCharsets.UTF_8).length > MAX_PATH_BYTES) {
                    throw s.error(crlNode, "crl", "a path longer than " + MAX_PATH_BYTES + " bytes, which no path can be");
                }
                paths.add(p);
            } catch (java.nio.file.InvalidPathException e) {
                throw s.error(crlNode, "crl", "'" + YamlSection.safe(t) + "' is not a valid path");
            }
        }
        return new RevocationSettings(paths, expired, missing, interval);
    }

    private static JailConfig jail(YamlSection s) throws ConfigException {
        JailConfig d = JailConfig.defaults();
        JailConfig.Builder b = JailConfig.builder()
                .maxRetry(s.integer("maxretry", d.maxRetry(), 1, 1000))
                .findTime(duration(s, "findtime", d.findTime()))
                .banTime(duration(s, "bantime", d.banTime()))
                .ignoreIp(s.strings("ignoreip", d.ignoreIp()))
                .ipv4Prefix(s.integer("ipv4-prefix", d.ipv4Prefix(), 8, 32))
                .ipv6Prefix(s.integer("ipv6-prefix", d.ipv6Prefix(), 16, 128))
                .maxTrackedKeys(s.integer("max-tracked", d.maxTrackedKeys(), 1, 100_000_000))
                .maxBans(s.integer("max-bans", d.maxBans(), 1, 100_000_000));
        YamlSection inc = s.section("bantime-increment");
        BanTimeIncrement di = d.increment();
        try {
            b.increment(new BanTimeIncrement(inc.bool("enabled", di.enabled()), inc.number("factor", di.factor()),
                    duration(inc, "maxtime", di.maxTime()), inc.numbers("multipliers", di.multipliers()),
                    duration(inc, "remember", di.remember())));
        } catch (IllegalArgumentException e) {
            throw engineError(s, inc, e);
        }
        inc.finish();
        s.finish();
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw engineError(s, inc, e);
        }
    }

    /** The engine names the option in its message ("jail.findtime must ..."); point at that key's value. */
    private static ConfigException engineError(YamlSection jail, YamlSection inc, IllegalArgumentException e) {
        return String.valueOf(e.getMessage()).startsWith(inc.key("")) ? inc.rejected(e) : jail.rejected(e);
    }

    private static Fail2BanLogSection fail2banLog(YamlSection s, Path baseDir, Path stateDir) throws ConfigException {
        Path path = path(s, "path", baseDir, stateDir.resolve("fail2ban.log"));
        String ts = s.string("timestamp", "trailing");
        if (!ts.equals("trailing") && !ts.equals("none")) {
            throw s.error(s.value("timestamp"), "timestamp", "'" + YamlSection.safe(ts) + "' must be trailing or none");
        }
        Node modeNode = s.has("mode") ? s.value("mode") : null;
        String modeText = s.string("mode", "0640");
        if (!modeText.matches("0?[0-7]{3}")) {
            throw s.error(modeNode, "mode", "'" + YamlSection.safe(modeText) + "' is not an octal file mode such as 0640 (quote it: \"0640\")");
        }
        int mode = Integer.parseInt(modeText, 8);
        if ((mode & 0111) != 0 || (mode & 0600) != 0600) {
            throw s.error(modeNode, "mode", modeText + " must let the owner read and write, and set no execute bits");
        }
        s.finish();
        return new Fail2BanLogSection(path, ts.equals("trailing"), mode);
    }

    private static ForwardSection forward(YamlSection s) throws ConfigException {
        if (!s.has("to")) {
            throw s.error("to", "required: the backend as HOST:PORT");
        }
        HostPort to = hostPort(s, "to");
        if (to.port == 0) {
            throw s.error(s.value("to"), "to", "port must be 1-65535");
        }
        Duration connect = duration(s, "connect-timeout", Duration.ofSeconds(10));
        Duration idle = duration(s, "idle-timeout", Duration.ofMinutes(10));
        if (connect.isNegative() || idle.isNegative()) {
            throw s.error("connect-timeout", "timeouts must be positive");
        }
        ForwardSection.ProxyProtocol proxy = enumValue(s, "proxy-protocol", ForwardSection.ProxyProtocol.class,
                ForwardSection.ProxyProtocol.NONE);
        int maxRelays = s.integer("max-relays", ForwardSection.defaultMaxRelays(), 1, 1_000_000);
        int perSource = s.integer("max-relays-per-source", Math.min(maxRelays, ForwardSection.DEFAULT_MAX_RELAYS_PER_SOURCE),
                1, 1_000_000);
        if (perSource > maxRelays) {
            throw s.error(s.value("max-relays-per-source"), "max-relays-per-source",
                    "must be at most forward.max-relays (" + maxRelays + ")");
        }
        s.finish();
        return new ForwardSection(to.host, to.port, connect, idle, proxy, maxRelays, perSource);
    }

    private record HostPort(String host, int port) {
    }

    private static HostPort hostPort(YamlSection s, String name) throws ConfigException {
        Node node = s.value(name);
        String text = s.string(name, null);
        java.util.regex.Matcher m = java.util.regex.Pattern
                .compile("(?:\\[([0-9A-Fa-f:.]+)\\]|([A-Za-z0-9._-]+)):([0-9]{1,5})").matcher(text);
        if (!m.matches() || Integer.parseInt(m.group(3)) > 65535) {
            throw s.error(node, name, "'" + YamlSection.safe(text) + "' is not HOST:PORT (IPv6: [::1]:PORT)");
        }
        return new HostPort(m.group(1) != null ? m.group(1) : m.group(2), Integer.parseInt(m.group(3)));
    }

    private static <E extends Enum<E>> E enumValue(YamlSection s, String name, Class<E> type, E dflt)
            throws ConfigException {
        Node node = s.has(name) ? s.value(name) : null;
        String text = s.string(name, null);
        if (text == null) {
            return dflt;
        }
        for (E e : type.getEnumConstants()) {
            if (e.name().toLowerCase(Locale.ROOT).equals(text)) {
                return e;
            }
        }
        StringBuilder allowed = new StringBuilder();
        for (E e : type.getEnumConstants()) {
            allowed.append(allowed.length() == 0 ? "" : ", ").append(e.name().toLowerCase(Locale.ROOT));
        }
        throw s.error(node, name, "'" + YamlSection.safe(text) + "' must be one of: " + allowed);
    }

    static Duration duration(YamlSection s, String name, Duration dflt) throws ConfigException {
        Node node = s.value(name);
        if (node == null) {
            return dflt;
        }
        if (!(node instanceof ScalarNode)) {
            throw s.error(node, name, "expected a duration such as 600, 10m, 1h, 1d");
        }
        String text = s.string(name, null);
        try {
            return FailDuration.parse(text, s.key(name));
        } catch (IllegalArgumentException e) {
            String msg = String.valueOf(e.getMessage());
            String prefix = s.key(name) + ": ";
            throw s.error(node, name, msg.startsWith(prefix) ? msg.substring(prefix.length()) : msg);
        }
    }

    static Path path(YamlSection s, String name, Path baseDir, Path dflt) throws ConfigException {
        Node node = s.value(name);
        if (node == null) {
            return dflt;
        }
        String text = s.string(name, null);
        Path p;
        try {
            p = baseDir.resolve(text).normalize();
        } catch (java.nio.file.InvalidPathException e) {
            throw s.error(node, name, "not a valid path");
        }
        // Linux limits: PATH_MAX 4096 bytes with the NUL, NAME_MAX 255 bytes per component. Caught
        // here, a too long path is a configuration error, not a failure after the port is open.
        if (p.toString().getBytes(StandardCharsets.UTF_8).length > MAX_PATH_BYTES) {
            throw s.error(node, name, "longer than " + MAX_PATH_BYTES + " bytes, which no path can be");
        }
        for (Path part : p) {
            if (part.toString().getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
                throw s.error(node, name, "has a name longer than " + MAX_NAME_BYTES + " bytes, which no file can have");
            }
        }
        return p;
    }
}
