package org.tlsjail.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.FailureOutcome;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.fail2banlog.Fail2BanLog;
import org.tlsjail.fail2banlog.Fail2BanLogConfig;
import org.tlsjail.fail2banlog.Fail2BanRegex;
import org.tlsjail.pki.CertificateAuthority;
import org.tlsjail.pki.CertificateSpec;
import org.tlsjail.pki.Credential;
import org.tlsjail.pki.PemFiles;
import org.tlsjail.testing.Await;
import org.tlsjail.testing.ManualTime;
import org.tlsjail.tls.KeySource;
import org.tlsjail.tls.ServerTls;
import org.tlsjail.tls.TlsSettings;
import org.tlsjail.tls.TrustSource;

/**
 * The listener against real clients: openssl s_client and raw sockets, each test from its own
 * 127.0.0.N source. One PKI, engine, log and two listeners for the whole class.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TlsListenerTest {
    @TempDir
    static Path dir;

    static BanEngine engine;
    static Fail2BanLog log;
    static Path logFile;
    /** TLS 1.3 + 1.2, client certificate required. */
    static TlsListener main;
    /** TLS 1.3 only, one cipher suite, its timers on {@link #strictTime}. */
    static TlsListener strict;
    /** The strict listener's ticker and scheduler: its handshake timeout passes when a test says so. */
    static final ManualTime strictTime = new ManualTime();
    static final BlockingQueue<HandshakeFailure> failures = new LinkedBlockingQueue<>();
    static final BlockingQueue<String> refusals = new LinkedBlockingQueue<>();
    static final BlockingQueue<String> handled = new LinkedBlockingQueue<>();

    static Path ca;
    static Path goodChain;
    static Path goodKey;
    static Path unknownChain;
    static Path unknownKey;
    static Path expiredChain;
    static Path expiredKey;
    static Path hostileChain;
    static Path hostileKey;

    @BeforeAll
    static void setUp() throws Exception {
        CertificateAuthority authority = CertificateAuthority.create("test CA", Duration.ofDays(2));
        CertificateAuthority stranger = CertificateAuthority.create("stranger CA", Duration.ofDays(2));
        Credential server = authority.issue(CertificateSpec.builder("localhost").dnsName("localhost")
                .ipAddress(InetAddress.getByName("127.0.0.1")).usage(CertificateSpec.Usage.SERVER).build());
        ca = dir.resolve("ca.pem");
        PemFiles.writeCertificates(ca, List.of(authority.certificate()));
        Path serverChain = dir.resolve("server.pem");
        Path serverKey = dir.resolve("server.key");
        PemFiles.writeCertificates(serverChain, server.chain());
        PemFiles.writePrivateKey(serverKey, server.privateKey());
        Path serverP12 = dir.resolve("server.p12");
        PemFiles.writePkcs12(serverP12, server, "server", "pw".toCharArray());

        goodChain = dir.resolve("good.pem");
        goodKey = dir.resolve("good.key");
        write(authority.issue(CertificateSpec.builder("partner-one").build()), goodChain, goodKey);
        unknownChain = dir.resolve("unknown.pem");
        unknownKey = dir.resolve("unknown.key");
        write(stranger.issue(CertificateSpec.builder("stranger").build()), unknownChain, unknownKey);
        expiredChain = dir.resolve("expired.pem");
        expiredKey = dir.resolve("expired.key");
        Instant past = Instant.now().minus(Duration.ofDays(1));
        write(authority.issue(CertificateSpec.builder("old partner").validity(past.minus(Duration.ofHours(2)), past).build()),
                expiredChain, expiredKey);
        hostileChain = dir.resolve("hostile.pem");
        hostileKey = dir.resolve("hostile.key");
        write(stranger.issue(CertificateSpec.builder("x: TLS error 1 during connect try from 8.8.8.8: y\n(z) "
                + "B".repeat(10_000)).build()), hostileChain, hostileKey);

        engine = new BanEngine(JailConfig.defaults(), InstantSource.system());
        logFile = dir.resolve("fail2ban.log");
        log = Fail2BanLog.open(Fail2BanLogConfig.of(logFile), InstantSource.system());
        HandshakeObserver collect = new HandshakeObserver() {
            @Override
            public void onFailure(HandshakeFailure f, FailureOutcome o) {
                failures.add(f);
            }

            @Override
            public void onRefused(InetAddress source, Refusal refusal) {
                refusals.add(source.getHostAddress() + " " + refusal);
            }
        };
        ConnectionHandler handler = (socket, remote, chain) -> {
            handled.add(remote.getAddress().getHostAddress() + " " + chain.get(0).getSubjectX500Principal().getName());
            OutputStream out = socket.getOutputStream();
            out.write("hello\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
        };
        TlsSettings pem = TlsSettings.of(KeySource.pem(serverChain, serverKey), TrustSource.pemBundle(ca));
        main = TlsListener.builder(ServerTls.load(pem, InstantSource.system()), engine, handler)
                .config(ListenerConfig.builder().bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0)).build())
                .observer(log).observer(collect).build().start();
        TlsSettings p12 = TlsSettings.of(KeySource.pkcs12(serverP12, "pw"), TrustSource.pemBundle(ca))
                .withProtocols(List.of("TLSv1.3")).withCipherSuites(List.of("TLS_AES_128_GCM_SHA256"));
        strict = TlsListener.builder(ServerTls.load(p12, InstantSource.system()), engine, handler)
                .config(ListenerConfig.builder().bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0))
                        .handshakeTimeout(Duration.ofSeconds(10)).build())
                .ticker(strictTime.ticker()).scheduler(strictTime.scheduler())
                .observer(log).observer(collect).build().start();
    }

    private static void write(Credential c, Path chain, Path key) throws Exception {
        PemFiles.writeCertificates(chain, c.chain());
        PemFiles.writePrivateKey(key, c.privateKey());
    }

    @AfterAll
    static void tearDown() {
        main.close();
        strict.close();
        log.close();
    }

    private static HandshakeFailure nextFailure(String source) throws InterruptedException {
        HandshakeFailure f = failures.poll(15, TimeUnit.SECONDS);
        assertThat(f).as("a failure from " + source).isNotNull();
        assertThat(f.remote().getAddress().getHostAddress()).isEqualTo(source);
        return f;
    }

    private static List<String> logLinesFrom(String source) throws Exception {
        assertThat(log.flush(Duration.ofSeconds(10))).isTrue();
        return Files.readAllLines(logFile).stream().filter(l -> l.contains(" from " + source + " ") || l.contains(" from " + source + ":")).toList();
    }

    @Test
    @Order(1)
    void withoutClientCertificateThreeLinesThenBannedWhileAValidPartnerStillConnects() throws Exception {
        String src = "127.0.0.10";
        String[][] attempts = {{"-tls1_2"}, {"-tls1_3"}, {"-tls1_2"}};
        for (String[] opts : attempts) {
            Peers.Run r = Peers.sClient(main.localAddress(), src, opts);
            assertThat(r.sawServerCertificate()).as(r.output()).isTrue();
            HandshakeFailure f = nextFailure(src);
            assertThat(f.kind()).isEqualTo(FailureKind.NO_CERTIFICATE);
            assertThat(f.code()).isEqualTo(167772359L);
        }
        assertThat(logLinesFrom(src)).hasSize(3).allSatisfy(l -> assertThat(l).matches(
                "TLS error 167772359 during connect try from 127\\.0\\.0\\.10: peer did not return a certificate \\[.+\\]"));
        assertThat(engine.isBanned(InetAddress.getByName(src))).isTrue();

        long refusedBefore = main.stats().refusedBanned();
        Peers.Run fourth = Peers.sClient(main.localAddress(), src, "-tls1_3");
        assertThat(fourth.sawServerCertificate()).as(fourth.output()).isFalse();
        assertThat(refusals.poll(10, TimeUnit.SECONDS)).isEqualTo(src + " BANNED");
        assertThat(main.stats().refusedBanned()).isEqualTo(refusedBefore + 1);
        // a banned source gets a TCP reset and not a single byte
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(src, 0));
            s.connect(main.localAddress());
            s.setSoTimeout(10_000);
            assertThatThrownBy(() -> s.getInputStream().read()).isInstanceOf(java.net.SocketException.class)
                    .hasMessageContaining("reset");
        }
        assertThat(refusals.poll(10, TimeUnit.SECONDS)).isEqualTo(src + " BANNED");

        Peers.Run partner = Peers.sClient(main.localAddress(), "127.0.0.11", "-tls1_3",
                "-cert", goodChain.toString(), "-key", goodKey.toString(), "-CAfile", ca.toString());
        assertThat(partner.output()).contains("Verify return code: 0 (ok)");
        assertThat(handled.poll(10, TimeUnit.SECONDS)).isEqualTo("127.0.0.11 CN=partner-one");
        assertThat(logLinesFrom(src)).hasSize(3);
        assertThat(failures).isEmpty();
    }

    @Test
    @Order(2)
    void rejectedCertificatesNameTheX509ReasonAndTheSanitisedCn() throws Exception {
        Peers.sClient(main.localAddress(), "127.0.0.20", "-tls1_2", "-cert", unknownChain.toString(), "-key", unknownKey.toString());
        HandshakeFailure unknown = nextFailure("127.0.0.20");
        assertThat(unknown.code()).isEqualTo(167772294L);
        assertThat(unknown.reason()).isEqualTo("certificate verify failed (unable to get local issuer certificate)");
        assertThat(logLinesFrom("127.0.0.20")).singleElement().asString().startsWith(
                "TLS error 167772294 during connect try from 127.0.0.20 (stranger): certificate verify failed (unable to get local issuer certificate) [");

        Peers.sClient(main.localAddress(), "127.0.0.21", "-tls1_3", "-cert", expiredChain.toString(), "-key", expiredKey.toString());
        HandshakeFailure expired = nextFailure("127.0.0.21");
        assertThat(expired.reason()).isEqualTo("certificate verify failed (certificate has expired)");
        assertThat(logLinesFrom("127.0.0.21")).singleElement().asString().startsWith(
                "TLS error 167772294 during connect try from 127.0.0.21 (old_partner): certificate verify failed (certificate has expired) [");

        Peers.sClient(main.localAddress(), "127.0.0.22", "-tls1_3", "-cert", hostileChain.toString(), "-key", hostileKey.toString());
        HandshakeFailure hostile = nextFailure("127.0.0.22");
        assertThat(hostile.peerCommonName()).contains("8.8.8.8").hasSizeGreaterThan(10_000);
        assertThat(logLinesFrom("127.0.0.22")).singleElement().asString().startsWith(
                "TLS error 167772294 during connect try from 127.0.0.22 (x__TLS_error_1_during_connect_try_from_8.8.8.8__y__z__BBBBB");
    }

    @Test
    @Order(3)
    void protocolAndCipherMismatches() throws Exception {
        Peers.sClient(strict.localAddress(), "127.0.0.30", "-no_tls1_3");
        assertThat(nextFailure("127.0.0.30").kind()).isEqualTo(FailureKind.UNSUPPORTED_PROTOCOL);
        Peers.sClient(strict.localAddress(), "127.0.0.31", "-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384");
        HandshakeFailure f = nextFailure("127.0.0.31");
        assertThat(f.kind()).isEqualTo(FailureKind.NO_SHARED_CIPHER);
        assertThat(f.code()).isEqualTo(167772353L);
        // TLS 1.2 with only RSA key exchange against an EC server key
        Peers.sClient(main.localAddress(), "127.0.0.32", "-tls1_2", "-cipher", "AES128-SHA");
        assertThat(nextFailure("127.0.0.32").kind()).isEqualTo(FailureKind.NO_SHARED_CIPHER);
    }

    /** TLS 1.2: closing after the server's first flight is EOF, not "no certificate" (BC reports both as alert 40). */
    @Test
    @Order(3)
    void closeAfterServerFlightInTls12IsEofNotMissingCertificate() throws Exception {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress("127.0.0.33", 0));
            s.connect(main.localAddress());
            s.setSoTimeout(15_000);
            s.getOutputStream().write(Peers.clientHello("TLSv1.2"));
            s.getOutputStream().flush();
            assertThat(s.getInputStream().read()).isEqualTo(0x16);   // ServerHello... arrived
            s.shutdownOutput();
            s.getInputStream().readAllBytes();
        } catch (java.net.SocketException ignored) {
            // the server may reset after its verdict
        }
        assertThat(nextFailure("127.0.0.33").kind()).isEqualTo(FailureKind.UNEXPECTED_EOF);
    }

    @Test
    @Order(4)
    void clientAlertIsLoggedWithOpensslsAlertString() throws Exception {
        // s_client with a CA file that does not hold our CA aborts with alert 48 (unknown ca)
        Peers.sClient(main.localAddress(), "127.0.0.40", "-tls1_3", "-verify_return_error", "-CAfile", hostileChain.toString());
        HandshakeFailure f = nextFailure("127.0.0.40");
        assertThat(f.kind()).isEqualTo(FailureKind.ALERT_RECEIVED);
        assertThat(f.code()).isEqualTo(167773160L + 48);
        assertThat(f.reason()).isEqualTo("tlsv1 alert unknown ca");
    }

    @Test
    @Order(5)
    void rawSocketsGetOpensslsRecordLayerReasons() throws Exception {
        assertThat(raw("127.0.0.50", "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII), false))
                .isEqualTo(FailureKind.HTTP_REQUEST);
        assertThat(raw("127.0.0.51", "CONNECT example.com:443 HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII), false))
                .isEqualTo(FailureKind.HTTPS_PROXY_REQUEST);
        assertThat(raw("127.0.0.52", new byte[] {0x00, (byte) 0xff, 0x13, 0x37, 0x42, 0x01, 0x02}, false))
                .isEqualTo(FailureKind.WRONG_VERSION_NUMBER);
        assertThat(raw("127.0.0.53", new byte[] {0x16, 0x03, 0x01, (byte) 0xff, (byte) 0xff, 0x01}, false))
                .isEqualTo(FailureKind.PACKET_LENGTH_TOO_LONG);
        assertThat(raw("127.0.0.54", Peers.clientHello(), true)).isEqualTo(FailureKind.UNEXPECTED_EOF);
        assertThat(raw("127.0.0.55", new byte[0], true)).isEqualTo(FailureKind.UNEXPECTED_EOF);
    }

    @Test
    @Order(6)
    void resetAndTimeout() throws Exception {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress("127.0.0.60", 0));
            s.connect(main.localAddress());
            s.getOutputStream().write(Peers.clientHello());
            s.getOutputStream().flush();
            // wait for the server's first flight, then reset
            assertThat(s.getInputStream().read()).isEqualTo(0x16);
            s.setSoLinger(true, 0);
        }
        assertThat(nextFailure("127.0.0.60").kind()).isEqualTo(FailureKind.CONNECTION_RESET);

        // the earlier connections to strict have given their places back: the next one held is this one
        Await.until("strict idle", Duration.ofSeconds(15), () -> strict.stats().handshakesInProgress() == 0);
        long acceptedBefore = strict.stats().accepted();
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress("127.0.0.61", 0));
            s.connect(strict.localAddress());
            s.setSoTimeout(15_000);
            Await.until("parked at the gate", Duration.ofSeconds(15), () -> strict.stats().accepted() == acceptedBefore + 1
                    && strict.stats().handshakesInProgress() == 1);
            strictTime.advance(Duration.ofSeconds(10)); // its handshake time, sending nothing
            assertThat(s.getInputStream().read()).isEqualTo(-1);   // the listener gives up, not us
        }
        HandshakeFailure t = nextFailure("127.0.0.61");
        assertThat(t.kind()).isEqualTo(FailureKind.HANDSHAKE_TIMEOUT);
        assertThat(t.code()).isEqualTo(2147483758L);
    }

    @Test
    @Order(7)
    void perSourceCapRefusesWithoutCountingAFailure() throws Exception {
        int cap = 8;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        Socket[] idle = new Socket[cap + 1];
        try {
            for (int i = 0; i < idle.length; i++) {
                idle[i] = new Socket();
                idle[i].bind(new InetSocketAddress("127.0.0.70", 0));
                idle[i].connect(main.localAddress());
            }
            assertThat(refusals.poll(10, TimeUnit.SECONDS)).isEqualTo("127.0.0.70 SOURCE_LIMIT");
            // another source is not affected
            Peers.Run partner = Peers.sClient(main.localAddress(), "127.0.0.71", "-tls1_2",
                    "-cert", goodChain.toString(), "-key", goodKey.toString(), "-CAfile", ca.toString());
            assertThat(partner.output()).contains("Verify return code: 0 (ok)");
            assertThat(handled.poll(10, TimeUnit.SECONDS)).startsWith("127.0.0.71");
        } finally {
            for (Socket s : idle) {
                if (s != null) {
                    s.close();
                }
            }
        }
        // the 8 admitted connections end: each is an EOF failure until the third bans the source;
        // the ones still in the gate then are refused as banned (no TLS work, no log line)
        int failed = 0;
        int refusedAsBanned = 0;
        while (failed + refusedAsBanned < cap) {
            String refusal = refusals.poll();
            if (refusal != null) {
                assertThat(refusal).isEqualTo("127.0.0.70 BANNED");
                refusedAsBanned++;
                continue;
            }
            HandshakeFailure f = failures.poll(100, TimeUnit.MILLISECONDS);
            if (f != null) {
                assertThat(f.remote().getAddress().getHostAddress()).isEqualTo("127.0.0.70");
                assertThat(f.kind()).isEqualTo(FailureKind.UNEXPECTED_EOF);
                failed++;
            } else {
                assertThat(refusedAsBanned + failed).as("all 8 accounted for within 15 s").isLessThan(cap);
                assertThat(System.nanoTime()).isLessThan(deadline);
            }
        }
        assertThat(failed).isGreaterThanOrEqualTo(3);
        assertThat(engine.isBanned(InetAddress.getByName("127.0.0.70"))).isTrue();
    }

    @Test
    @Order(100)
    void fail2banRegexFindsEveryLineWithItsRealSource() throws Exception {
        assertThat(log.flush(Duration.ofSeconds(10))).isTrue();
        List<String> lines = Files.readAllLines(logFile);
        assertThat(lines).isNotEmpty();
        Fail2BanRegex.Result r = Fail2BanRegex.run(logFile);
        assertThat(r.missed()).as(r.output()).isZero();
        assertThat(r.matched()).isEqualTo(lines.size());
        List<String> expected = lines.stream().map(l -> l.split(" ")[7].replace(":", "")).toList();
        assertThat(r.matches()).extracting(Fail2BanRegex.Match::address).containsExactlyInAnyOrderElementsOf(expected)
                .allMatch(a -> a.startsWith("127.0.0."));
    }

    private static FailureKind raw(String source, byte[] payload, boolean closeAfter) throws Exception {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(source, 0));
            s.connect(main.localAddress());
            s.setSoTimeout(15_000);
            OutputStream out = s.getOutputStream();
            out.write(payload);
            out.flush();
            if (closeAfter) {
                s.shutdownOutput();
            }
            InputStream in = s.getInputStream();
            // the server closes after its verdict; what it sends (maybe an alert) is drained
            in.readAllBytes();
        } catch (java.net.SocketException ignored) {
            // a reset after the verdict is fine
        }
        return nextFailure(source).kind();
    }
}
