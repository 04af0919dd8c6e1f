package org.tlsjail.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.tlsjail.cli.Dist.sClient;
import static org.tlsjail.cli.Dist.tlsjail;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.fail2banlog.Fail2BanRegex;
import org.tlsjail.testing.Haproxy;

/**
 * tlsjail behind the real HAProxy (TCP mode, {@code send-proxy} and {@code send-proxy-v2}), the
 * built bin/tlsjail with {@code listen.proxy-protocol: any}, trusting only 127.0.0.1 (where HAProxy
 * connects from), and the HAProxy bridge pushing bans into HAProxy's ACL.
 */
class BehindHaproxyIT {
    @TempDir
    Path work;

    private Path cfg;
    private Path state;
    private int port;
    private int v1Port;
    private int v2Port;
    private int metricsPort;

    @BeforeEach
    void ports() throws Exception {
        Haproxy.requireInstalled();
        port = Haproxy.freePort();
        v1Port = Haproxy.freePort();
        v2Port = Haproxy.freePort();
        metricsPort = Haproxy.freePort();
        state = work.resolve("tlsjail-state");
    }

    private Haproxy haproxy() throws Exception {
        Map<Integer, String> fronts = new LinkedHashMap<>();
        fronts.put(v1Port, "server s 127.0.0.1:" + port + " send-proxy");
        // health checks over PROXY v2 are LOCAL commands from HAProxy's own address: never anyone's failure
        fronts.put(v2Port, "server s 127.0.0.1:" + port + " send-proxy-v2 check inter 300ms");
        return Haproxy.start(work.resolve("haproxy"), fronts);
    }

    private Dist.Daemon tlsjailBehind(Haproxy h) throws Exception {
        return tlsjailBehind(h, "");
    }

    private Dist.Daemon tlsjailBehind(Haproxy h, String moreYaml) throws Exception {
        cfg = work.resolve("tlsjail.yaml");
        Files.writeString(cfg, moreYaml + "listen:\n  port: " + port + "\n  proxy-protocol: any\n  trusted-proxies: [127.0.0.1]\n"
                + "  proxy-header-timeout: 1s\n"
                + "metrics: {listen: \"127.0.0.1:" + metricsPort + "\"}\n"
                + "bridge:\n  haproxy:\n    enabled: true\n    socket: " + h.adminSocket + "\n    acl: " + h.acl + "\n"
                + "    reconcile-interval: 2s\n");
        Dist.Daemon d = Dist.start(work, state, "--config", cfg.toString());
        // the health-checked backend is usable once HAProxy's checks have seen tlsjail up
        await(() -> {
            try {
                return h.serverStatus("be2", "s").startsWith("UP");
            } catch (IOException e) {
                return false;
            }
        }, "HAProxy's checks to find tlsjail up");
        return d;
    }

    @Test
    void theClientBehindHaproxyIsTheSourceAndItsBanIsEnforcedByHaproxyItself() throws Exception {
        try (Haproxy h = haproxy(); Dist.Daemon d = tlsjailBehind(h)) {
            Path demo = state.resolve("demo-pki");
            Path log = state.resolve("fail2ban.log");
            // send-proxy (v1): three failures of 127.0.0.5 through HAProxy
            for (int i = 0; i < 3; i++) {
                assertThat(sClient(work, v1Port, "127.0.0.5", demo, false, null).out()).contains("Server certificate");
            }
            // send-proxy-v2: three failures of 127.0.0.7
            for (int i = 0; i < 3; i++) {
                assertThat(sClient(work, v2Port, "127.0.0.7", demo, false, null).out()).contains("Server certificate");
            }
            List<String> lines = Dist.awaitLogLines(log, 6);
            assertThat(lines).hasSize(6);
            Fail2BanRegex.Result regex = Fail2BanRegex.run(log);
            assertThat(regex.matched()).as(regex.output()).isEqualTo(6);
            assertThat(regex.matches()).extracting(Fail2BanRegex.Match::address)
                    .containsExactly("127.0.0.5", "127.0.0.5", "127.0.0.5", "127.0.0.7", "127.0.0.7", "127.0.0.7");

            String banned = tlsjail(work, "banned", "--config", cfg.toString()).out();
            assertThat(banned).contains("127.0.0.5").contains("127.0.0.7").doesNotContain("127.0.0.1 ");
            assertThat(tlsjail(work, "banned", "--json", "--config", cfg.toString()).out())
                    .doesNotContain("\"127.0.0.1\"");

            // partners through the same HAProxy, both header versions, are served and greeted by their own address
            assertThat(sClient(work, v1Port, "127.0.0.6", demo, true, null).out())
                    .contains("Hello CN=tlsjail demo client,O=tlsjail demo at 127.0.0.6:");
            assertThat(sClient(work, v2Port, "127.0.0.8", demo, true, null).out())
                    .contains("Hello CN=tlsjail demo client,O=tlsjail demo at 127.0.0.8:");

            // the bridge put both bans into HAProxy: HAProxy itself rejects them, tlsjail sees nothing
            await(() -> entries(h).containsAll(List.of("127.0.0.5", "127.0.0.7")), "bans in HAProxy's ACL");
            double refusedBefore = metric("tlsjail_refused_connections_total{reason=\"banned\"}");
            long deniedBefore = h.deniedConnections("fe1");
            Dist.Result rejected = sClient(work, v1Port, "127.0.0.5", demo, true, null);
            assertThat(rejected.out()).doesNotContain("Hello").doesNotContain("Server certificate");
            assertThat(h.deniedConnections("fe1")).isEqualTo(deniedBefore + 1);
            assertThat(metric("tlsjail_refused_connections_total{reason=\"banned\"}")).isEqualTo(refusedBefore);
            assertThat(Files.readAllLines(log)).hasSize(6);

            // unban: HAProxy lets 127.0.0.5 through again
            assertThat(tlsjail(work, "unban", "127.0.0.5", "--config", cfg.toString()).exit()).isZero();
            await(() -> !entries(h).contains("127.0.0.5"), "127.0.0.5 gone from HAProxy's ACL");
            assertThat(entries(h)).contains("127.0.0.7");
            assertThat(sClient(work, v1Port, "127.0.0.5", demo, true, null).out())
                    .contains("Hello CN=tlsjail demo client,O=tlsjail demo at 127.0.0.5:");

            // a direct connection, not from a trusted proxy, is reset before TLS and counts against nobody
            Dist.Result direct = sClient(work, port, "127.0.0.9", demo, true, null);
            assertThat(direct.out()).doesNotContain("Hello").doesNotContain("Server certificate");
            assertThat(metric("tlsjail_refused_connections_total{reason=\"untrusted-proxy\"}")).isEqualTo(1.0);

            // HAProxy's health checks (LOCAL, from 127.0.0.1) ran all along: never a log line, never a ban
            String hx = Files.readString(h.output); // DOWN until tlsjail started, then never again
            assertThat(hx).contains("is UP");
            assertThat(hx.substring(hx.lastIndexOf("is UP"))).doesNotContain("is DOWN");
            assertThat(Files.readAllLines(log)).hasSize(6).noneMatch(l -> l.contains("127.0.0.1:"));
            assertThat(tlsjail(work, "status", "--config", cfg.toString()).out())
                    .contains("bridge:          haproxy acl " + h.acl)
                    .contains("proxy headers:   1 refused (untrusted peer)");
        }
    }

    @Test
    void aPartnerInTheBannedBlockIsLetInByTheDocumentedAcceptRuleBeforeTheReject() throws Exception {
        // ipv4-prefix 24: 127.0.5.5 (attacker), 127.0.5.6 (partner, in ignoreip) and 127.0.5.7 share 127.0.5.0/24
        Map<Integer, String> fronts = new LinkedHashMap<>();
        fronts.put(v1Port, "server s 127.0.0.1:" + port + " send-proxy");
        fronts.put(v2Port, "server s 127.0.0.1:" + port + " send-proxy-v2 check inter 300ms");
        try (Haproxy h = Haproxy.start(work.resolve("haproxy"), fronts, List.of("127.0.5.6"));
             Dist.Daemon d = tlsjailBehind(h, "jail: {ipv4-prefix: 24, ignoreip: [127.0.5.6]}\n")) {
            Path demo = state.resolve("demo-pki");
            for (int i = 0; i < 3; i++) {
                assertThat(sClient(work, v1Port, "127.0.5.5", demo, false, null).out()).contains("Server certificate");
            }
            await(() -> entries(h).contains("127.0.5.0/24"), "the /24 in HAProxy's ACL");
            long deniedBefore = h.deniedConnections("fe1");
            for (String neighbour : List.of("127.0.5.5", "127.0.5.7")) {
                assertThat(sClient(work, v1Port, neighbour, demo, true, null).out())
                        .as(neighbour).doesNotContain("Hello").doesNotContain("Server certificate");
            }
            assertThat(h.deniedConnections("fe1")).isEqualTo(deniedBefore + 2);
            // the partner passes HAProxy's accept rule and tlsjail's ignoreip, on both header versions
            for (int p : List.of(v1Port, v2Port, v1Port)) {
                assertThat(sClient(work, p, "127.0.5.6", demo, true, null).out())
                        .contains("Hello CN=tlsjail demo client,O=tlsjail demo at 127.0.5.6:");
            }
            assertThat(h.deniedConnections("fe1")).isEqualTo(deniedBefore + 2);
        }
    }

    @Test
    void hostileHeadersAreClosedCountedAgainstNobodyAndTheListenerKeepsServing() throws Exception {
        try (Haproxy h = haproxy(); Dist.Daemon d = tlsjailBehind(h)) {
            Path demo = state.resolve("demo-pki");
            // raw sockets from 127.0.0.1: a trusted proxy's address, sending what a broken or hostile one might
            List<byte[]> bad = List.of(
                    ascii("PROXY TCP4 127.0.0.20 127.0.0.1 1000 " + port), // truncated: no CRLF, then EOF
                    ascii("PROXY UNKNOWN " + "x".repeat(300) + "\r\n"), // oversized v1
                    ascii("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), // garbage
                    ascii("PROXY TCP4 127.0.0.21 127.0.0.1 1000 99999\r\n"), // bad port
                    ascii("PROXY TCP4 localhost 127.0.0.1 1000 1\r\n"), // a name is never resolved
                    concat(v2Fixed(0x21, 0x11, 0xFFFF), new byte[64]), // v2 length far over the cap
                    concat(v2Fixed(0x21, 0x11, 12 + 3), ip(127, 0, 0, 22), ip(127, 0, 0, 1), new byte[4],
                            new byte[] {0x20, 0x7f, 0x7f}), // TLV longer than the header
                    concat(v2Fixed(0x23, 0x11, 12), ip(127, 0, 0, 23), ip(127, 0, 0, 1), new byte[4]), // command 3
                    org.tlsjail.testing.ClientHellos.jdk()); // TLS without the header the balancer must send
            for (byte[] b : bad) {
                assertClosedByServer(b, true);
            }
            // slow: byte by byte, past the 1 s header timeout; closed before the header is complete
            try (Socket s = new Socket()) {
                s.bind(new InetSocketAddress("127.0.0.1", 0));
                s.connect(new InetSocketAddress("127.0.0.1", port));
                byte[] header = ascii("PROXY TCP4 127.0.0.24 127.0.0.1 1000 " + port + "\r\n");
                boolean closed = false;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                for (int i = 0; i < header.length - 1 && !closed && System.nanoTime() < deadline; i++) {
                    try {
                        s.getOutputStream().write(header[i]);
                        s.getOutputStream().flush();
                        s.setSoTimeout(500);
                        closed = s.getInputStream().read() < 0;
                    } catch (java.net.SocketTimeoutException e) {
                        // still open: the next byte
                    } catch (IOException e) {
                        closed = true; // reset
                    }
                }
                assertThat(closed).as("closed before the header was complete").isTrue();
            }

            // v2 with odd TLVs and the ClientHello in the same segment: the handshake starts at once, as 127.0.0.25
            byte[] tlvs = concat(new byte[] {0x04, 0, 0}, new byte[] {(byte) 0xE0, 0, 3, 1, 2, 3},
                    new byte[] {0x02, 0, 11}, ascii("example.com"), new byte[] {0x05, 0, 0});
            byte[] v2 = concat(v2Fixed(0x21, 0x11, 12 + tlvs.length), ip(127, 0, 0, 25), ip(127, 0, 0, 1),
                    new byte[] {0x13, (byte) 0x88, (byte) (port >> 8), (byte) port}, tlvs);
            try (Socket s = new Socket()) {
                s.bind(new InetSocketAddress("127.0.0.1", 0));
                s.connect(new InetSocketAddress("127.0.0.1", port));
                s.setSoTimeout(20_000);
                s.getOutputStream().write(concat(v2, org.tlsjail.testing.ClientHellos.jdk()));
                s.getOutputStream().flush();
                assertThat(s.getInputStream().read()).as("a TLS handshake record").isEqualTo(0x16);
            }
            // v2 LOCAL (a health check) and v1 UNKNOWN keep the balancer's own address: connecting and
            // leaving three times each is nobody's failure
            for (int i = 0; i < 3; i++) {
                assertClosedByServer(v2Fixed(0x20, 0x00, 0), true);
                assertClosedByServer(ascii("PROXY UNKNOWN\r\n"), true);
            }
            // the abandoned handshake is 127.0.0.25's (one failure, not a ban), nothing else is logged
            List<String> lines = Dist.awaitLogLines(state.resolve("fail2ban.log"), 1);
            assertThat(lines).hasSize(1);
            assertThat(lines.get(0)).contains("from 127.0.0.25:");

            assertThat(tlsjail(work, "banned", "--json", "--config", cfg.toString()).out().strip()).isEqualTo("[]");
            assertThat(metric("tlsjail_proxy_header_failures_total{reason=\"malformed\"}")).isGreaterThanOrEqualTo(7.0);
            assertThat(metric("tlsjail_proxy_header_failures_total{reason=\"timeout\"}")).isEqualTo(1.0);
            // the header's address is the source down to the ban unit: three addresses of one IPv6 /64
            // (through an IPv4 balancer) that connect and leave ban the /64, not the balancer
            for (String six : List.of("2001:db8:1:2::a", "2001:db8:1:2::b", "2001:db8:1:2::c")) {
                byte[] src = java.net.InetAddress.getByName(six).getAddress();
                byte[] dst = java.net.InetAddress.getByName("2001:db8::1").getAddress();
                assertClosedByServer(concat(v2Fixed(0x21, 0x21, 36), src, dst, new byte[] {0x13, (byte) 0x88, 0, 1}),
                        true);
            }
            await(() -> {
                try {
                    return tlsjail(work, "banned", "--json", "--config", cfg.toString()).out()
                            .contains("\"2001:db8:1:2::/64\"");
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }, "the /64 banned");
            assertThat(tlsjail(work, "banned", "--json", "--config", cfg.toString()).out())
                    .doesNotContain("\"127.0.0.1\"");
            // still serving through HAProxy
            assertThat(sClient(work, v2Port, "127.0.0.26", demo, true, null).out())
                    .contains("Hello CN=tlsjail demo client,O=tlsjail demo at 127.0.0.26:");
            assertThat(sClient(work, v1Port, "127.0.0.27", demo, true, null).out())
                    .contains("Hello CN=tlsjail demo client,O=tlsjail demo at 127.0.0.27:");
        }
    }

    @Test
    void forwardingPassesTheClientFromTheBalancersHeaderOnToTheBackend() throws Exception {
        try (Haproxy h = haproxy();
             java.net.ServerSocket backend = new java.net.ServerSocket(0, 5, InetAddress.getByName("127.0.0.1"))) {
            cfg = work.resolve("tlsjail.yaml");
            Files.writeString(cfg, "listen:\n  port: " + port + "\n  proxy-protocol: any\n  trusted-proxies: [127.0.0.1]\n"
                    + "forward:\n  to: \"127.0.0.1:" + backend.getLocalPort() + "\"\n  proxy-protocol: v1\n");
            try (Dist.Daemon d = Dist.start(work, state, "--config", cfg.toString())) {
                java.util.concurrent.CompletableFuture<String> firstLine = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                    try (Socket b = backend.accept()) {
                        b.setSoTimeout(30_000);
                        StringBuilder line = new StringBuilder();
                        int c;
                        while ((c = b.getInputStream().read()) >= 0 && c != '\n' && line.length() < 200) {
                            line.append((char) c);
                        }
                        return line.toString();
                    } catch (IOException e) {
                        return e.toString();
                    }
                });
                Dist.Result r = sClient(work, v1Port, "127.0.0.31", state.resolve("demo-pki"), true, null);
                String line;
                try {
                    line = firstLine.get(60, TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    throw new AssertionError("the backend got nothing; s_client:\n" + r.all() + "\ndaemon:\n" + d.stderr());
                }
                assertThat(line).startsWith("PROXY TCP4 127.0.0.31 ");
            }
        }
    }

    @Test
    void configCheckWarnsThatHostBridgesCannotBlockBehindABalancer() throws Exception {
        Path f = work.resolve("warn.yaml");
        Files.writeString(f, "listen:\n  proxy-protocol: v1\n  trusted-proxies: [127.0.0.1]\n"
                + "bridge:\n  nftables: {enabled: true}\n");
        Dist.Result r = tlsjail(work, "config", "check", "--config", f.toString());
        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(r.out()).contains(": OK");
        assertThat(r.err()).contains("tlsjail: warning: bridge.nftables is enabled while listen.proxy-protocol is v1")
                .contains("bridge.haproxy");
    }

    /** Sends {@code bytes} from 127.0.0.1 (optionally half-closing) and expects the server to close. */
    private void assertClosedByServer(byte[] bytes, boolean halfClose) throws Exception {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            s.connect(new InetSocketAddress("127.0.0.1", port));
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            try {
                out.write(bytes);
                out.flush();
                if (halfClose) {
                    s.shutdownOutput();
                }
            } catch (SocketException e) {
                return; // already reset
            }
            InputStream in = s.getInputStream();
            try {
                int r = in.read();
                assertThat(r).as("server closed without answering: %s", HexFormat.of().formatHex(bytes, 0,
                        Math.min(bytes.length, 40))).isEqualTo(-1);
            } catch (SocketException e) {
                // reset: closed too
            }
        }
    }

    private List<String> entries(Haproxy h) {
        try {
            return h.aclEntries();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private double metric(String series) throws Exception {
        String text = new String(java.net.URI.create("http://127.0.0.1:" + metricsPort + "/metrics").toURL()
                .openStream().readAllBytes(), StandardCharsets.UTF_8);
        return text.lines().filter(l -> l.startsWith(series + " ")).map(l -> Double.parseDouble(l.substring(series.length() + 1)))
                .findFirst().orElse(0.0);
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] ip(int a, int b, int c, int d) {
        return new byte[] {(byte) a, (byte) b, (byte) c, (byte) d};
    }

    private static byte[] v2Fixed(int verCmd, int family, int length) {
        return concat(HexFormat.of().parseHex("0d0a0d0a000d0a515549540a"),
                new byte[] {(byte) verCmd, (byte) family, (byte) (length >> 8), (byte) length});
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

}
