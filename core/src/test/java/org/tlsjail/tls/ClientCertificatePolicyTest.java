package org.tlsjail.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
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
import org.tlsjail.listener.ConnectionHandler;
import org.tlsjail.listener.HandshakeFailure;
import org.tlsjail.listener.HandshakeObserver;
import org.tlsjail.listener.ListenerConfig;
import org.tlsjail.listener.TlsListener;
import org.tlsjail.testing.RealPeer;

/**
 * Issue 11 items 2, 3 and 8: client chains made by a real {@code openssl ca}, presented by a real
 * {@code openssl s_client} the way a weak or revoked partner would, each from its own 127.0.0.N
 * source; every reject must be logged as an OpenSSL 3 server reports it, every line must be
 * matched by the real {@code fail2ban-regex} with OS4X's filter, and a good partner stays served.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClientCertificatePolicyTest {
    private static final long VERIFY_FAILED = 167772294L;

    @TempDir
    static Path dir;

    static OpenSslCa root;
    static OpenSslCa issuing;
    static OpenSslCa revokedCa;
    static OpenSslCa staleCa;
    static OpenSslCa silentCa;
    static OpenSslCa oldRoot;
    static OpenSslCa weakCa;
    static OpenSslCa forgedCrlCa;
    static OpenSslCa futureCrlCa;
    static Path crlDir;
    static Path clientCas;
    static Path serverChain;
    static Path serverKey;

    static Fail2BanLog log;
    static Path logFile;
    static BanEngine engine;
    /** Default policy; CRLs looked at every second. */
    static TlsListener watching;
    /** Default policy; CRLs looked at hourly, so only a reload brings a new one. */
    static TlsListener reloading;
    /** crl-expired: accept, crl-missing: accept. */
    static TlsListener lenient;
    static final BlockingQueue<HandshakeFailure> failures = new LinkedBlockingQueue<>();
    static final BlockingQueue<String> served = new LinkedBlockingQueue<>();
    static final List<ServerTls> loaded = new ArrayList<>();

    @BeforeAll
    static void setUp() throws Exception {
        RealPeer.require(OpenSslCa.installed("openssl"), "openssl is not installed (Debian package openssl)");
        RealPeer.require(OpenSslCa.installed("fail2ban-regex"), "fail2ban-regex is not installed (Debian package fail2ban)");
        root = OpenSslCa.root(dir, "Partner Root");
        issuing = root.intermediate("Partner Issuing CA");
        revokedCa = root.intermediate("Revoked Issuing CA");
        staleCa = root.intermediate("Stale Issuing CA");
        silentCa = root.intermediate("Silent Issuing CA");
        oldRoot = OpenSslCa.root(dir, "Old SHA1 Root", "sha1");
        weakCa = root.intermediate("Weak Issuing CA", "rsa:1024");
        forgedCrlCa = root.intermediate("Forged CRL CA");
        futureCrlCa = root.intermediate("Future CRL CA");
        OpenSslCa.Issued server = root.server("localhost", "rsa:2048");
        serverChain = server.cert();
        serverKey = server.key();
        clientCas = dir.resolve("client-cas.pem");
        Files.writeString(clientCas, Files.readString(root.certificate()) + Files.readString(oldRoot.certificate()));

        root.revoke(revokedCa.certificate());
        crlDir = Files.createDirectories(dir.resolve("crl"));
        root.crl(crlDir.resolve("root.pem"), 7);
        issuing.crl(crlDir.resolve("issuing.pem"), 7);
        oldRoot.crl(crlDir.resolve("old-root.pem"), 7);
        revokedCa.crl(crlDir.resolve("revoked-ca.pem"), 7);
        Instant now = Instant.now();
        staleCa.crl(crlDir.resolve("stale-ca.pem"), now.minus(Duration.ofDays(2)), now.minus(Duration.ofDays(1)));
        // silentCa publishes no CRL at all
        weakCa.crl(crlDir.resolve("weak-ca.pem"), 7);
        // a CRL in forgedCrlCa's name, signed by another key of that name
        OpenSslCa.root(dir.resolve("impostor"), "Forged CRL CA").crl(crlDir.resolve("forged-ca.pem"), 7);
        futureCrlCa.crl(crlDir.resolve("future-ca.pem"), now.plus(Duration.ofDays(1)), now.plus(Duration.ofDays(2)));

        engine = new BanEngine(JailConfig.defaults(), InstantSource.system());
        logFile = dir.resolve("fail2ban.log");
        log = Fail2BanLog.open(Fail2BanLogConfig.of(logFile), InstantSource.system());
        watching = listener(new RevocationSettings(List.of(crlDir), RevocationSettings.Fallback.REJECT,
                RevocationSettings.Fallback.REJECT, Duration.ofSeconds(1)));
        reloading = listener(reloadingCrls());
        lenient = listener(new RevocationSettings(List.of(crlDir), RevocationSettings.Fallback.ACCEPT,
                RevocationSettings.Fallback.ACCEPT, Duration.ofHours(1)));
    }

    private static RevocationSettings reloadingCrls() {
        return new RevocationSettings(List.of(crlDir), RevocationSettings.Fallback.REJECT,
                RevocationSettings.Fallback.REJECT, Duration.ofHours(1));
    }

    private static ServerTls tls(RevocationSettings crls) {
        ServerTls t = ServerTls.load(TlsSettings.of(KeySource.pem(serverChain, serverKey), TrustSource.pemBundle(clientCas))
                .withRevocation(crls), InstantSource.system());
        loaded.add(t);
        return t;
    }

    private static TlsListener listener(RevocationSettings crls) throws Exception {
        HandshakeObserver collect = new HandshakeObserver() {
            @Override
            public void onFailure(HandshakeFailure f, FailureOutcome o) {
                failures.add(f);
            }
        };
        ConnectionHandler handler = (socket, remote, chain) -> {
            served.add(remote.getAddress().getHostAddress() + " " + chain.get(0).getSubjectX500Principal().getName());
            OutputStream out = socket.getOutputStream();
            out.write("hello\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
        };
        return TlsListener.builder(tls(crls), engine, handler)
                .config(ListenerConfig.builder().bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0)).build())
                .observer(log).observer(collect).build().start();
    }

    @AfterAll
    static void tearDown() {
        for (TlsListener l : new TlsListener[] {watching, reloading, lenient}) {
            if (l != null) {
                l.close();
            }
        }
        loaded.forEach(ServerTls::close);
        if (log != null) {
            log.close();
        }
    }

    /** s_client with a client chain (leaf + its issuing CA); SECLEVEL 0 so openssl itself sends weak keys and SHA-1. */
    static String connect(TlsListener l, String source, OpenSslCa.Issued leaf, OpenSslCa chainCa, String... extra)
            throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + l.localAddress().getPort(),
                "-bind", source + ":0", "-servername", "localhost", "-CAfile", root.certificate().toString(),
                "-cert", leaf.cert().toString(), "-key", leaf.key().toString(), "-cipher", "DEFAULT:@SECLEVEL=0",
                "-ign_eof"));
        if (chainCa != null) {
            cmd.addAll(List.of("-cert_chain", chainCa.certificate().toString()));
        }
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("openssl s_client timed out: " + cmd);
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    private static void assertServed(TlsListener l, String source, OpenSslCa.Issued leaf, OpenSslCa chainCa, String cn)
            throws Exception {
        String out = connect(l, source, leaf, chainCa);
        assertThat(served.poll(15, TimeUnit.SECONDS)).as(out).isEqualTo(source + " CN=" + cn);
        assertThat(out).contains("hello");
    }

    private static void assertRejected(TlsListener l, String source, OpenSslCa.Issued leaf, OpenSslCa chainCa,
                                       String logCn, String x509Reason, String... extra) throws Exception {
        String out = connect(l, source, leaf, chainCa, extra);
        HandshakeFailure f = failures.poll(15, TimeUnit.SECONDS);
        assertThat(f).as("a failure from %s; s_client said:%n%s", source, out).isNotNull();
        assertThat(f.remote().getAddress().getHostAddress()).isEqualTo(source);
        assertThat(f.code()).isEqualTo(VERIFY_FAILED);
        assertThat(f.reason()).isEqualTo("certificate verify failed (" + x509Reason + ")");
        assertThat(served).isEmpty();
        assertThat(log.flush(Duration.ofSeconds(10))).isTrue();
        List<String> lines = Files.readAllLines(logFile).stream().filter(x -> x.contains(" from " + source + " ")).toList();
        assertThat(lines).singleElement().asString().startsWith("TLS error 167772294 during connect try from " + source
                + " (" + logCn + "): certificate verify failed (" + x509Reason + ")");
    }

    @Test
    @Order(1)
    void goodPartnersAreServedOnBothProtocolsEvenUnderASha1SelfSignedRoot() throws Exception {
        OpenSslCa.Issued good = issuing.client("good partner", "rsa:2048", "sha256");
        assertServed(watching, "127.0.1.1", good, issuing, "good partner");
        String out = connect(watching, "127.0.1.1", good, issuing, "-tls1_2");
        assertThat(served.poll(15, TimeUnit.SECONDS)).as(out).isEqualTo("127.0.1.1 CN=good partner");
        // the trust anchor's own SHA-1 self-signature is not held against it (OpenSSL does the same)
        OpenSslCa.Issued underOld = oldRoot.client("old root partner", "rsa:2048", "sha256");
        assertServed(watching, "127.0.1.2", underOld, null, "old root partner");
        OpenSslCa.Issued ec = issuing.client("ec partner", "ec:" + ecParams(), "sha256");
        assertServed(watching, "127.0.1.3", ec, issuing, "ec partner");
    }

    private static String ecParams() throws Exception {
        Path p = dir.resolve("p256.pem");
        if (!Files.exists(p)) {
            OpenSslCa.openssl("ecparam", "-name", "prime256v1", "-out", p.toString());
        }
        return p.toString();
    }

    @Test
    @Order(2)
    void weakKeysAndDigestsAreRejectedAsOpensslSecurityLevel2Does() throws Exception {
        OpenSslCa.Issued rsa1024 = issuing.client("rsa1024 partner", "rsa:1024", "sha256");
        assertRejected(watching, "127.0.2.1", rsa1024, issuing, "rsa1024_partner", "EE certificate key too weak", "-tls1_3");
        assertRejected(watching, "127.0.2.2", rsa1024, issuing, "rsa1024_partner", "EE certificate key too weak", "-tls1_2");
        OpenSslCa.Issued sha1 = issuing.client("sha1 partner", "rsa:2048", "sha1");
        assertRejected(watching, "127.0.2.3", sha1, issuing, "sha1_partner", "CA signature digest algorithm too weak", "-tls1_3");
        assertRejected(watching, "127.0.2.4", sha1, issuing, "sha1_partner", "CA signature digest algorithm too weak", "-tls1_2");
        OpenSslCa.Issued underWeakCa = weakCa.client("weak ca partner", "rsa:2048", "sha256");
        assertRejected(watching, "127.0.2.6", underWeakCa, weakCa, "weak_ca_partner", "CA certificate key too weak");
        Path p192 = dir.resolve("p192.pem");
        OpenSslCa.openssl("ecparam", "-name", "prime192v1", "-out", p192.toString());
        OpenSslCa.Issued ec192 = issuing.client("p192 partner", "ec:" + p192, "sha256");
        // BC cannot even take part in a handshake with a P-192 key: any reject is fine, none is served
        connect(watching, "127.0.2.5", ec192, issuing);
        assertThat(failures.poll(15, TimeUnit.SECONDS)).isNotNull();
        assertThat(served).isEmpty();
    }

    @Test
    @Order(3)
    void revokedLeavesAndIntermediatesAreRejected() throws Exception {
        OpenSslCa.Issued revoked = issuing.client("revoked partner", "rsa:2048", "sha256");
        issuing.revoke(revoked.cert());
        issuing.crl(crlDir.resolve("issuing.pem"), 7);
        reloading.updateTls(tls(reloadingCrls()));
        // both listeners: "reloading" was just reloaded, "watching" finds the new file itself
        assertRejected(reloading, "127.0.3.1", revoked, issuing, "revoked_partner", "certificate revoked");
        awaitRejected(watching, "127.0.3.2", revoked, "revoked_partner", "certificate revoked");

        OpenSslCa.Issued orphan = revokedCa.client("orphan partner", "rsa:2048", "sha256");
        assertRejected(watching, "127.0.3.3", orphan, revokedCa, "orphan_partner", "certificate revoked");
        assertRejected(lenient, "127.0.3.4", orphan, revokedCa, "orphan_partner", "certificate revoked");
    }

    @Test
    @Order(4)
    void expiredAndMissingCrlsRejectByDefaultAndAcceptWhenConfigured() throws Exception {
        OpenSslCa.Issued stale = staleCa.client("stale partner", "rsa:2048", "sha256");
        assertRejected(watching, "127.0.4.1", stale, staleCa, "stale_partner", "CRL has expired");
        assertServed(lenient, "127.0.4.2", stale, staleCa, "stale partner");
        OpenSslCa.Issued silent = silentCa.client("silent partner", "rsa:2048", "sha256");
        assertRejected(watching, "127.0.4.3", silent, silentCa, "silent_partner", "unable to get certificate CRL");
        assertServed(lenient, "127.0.4.4", silent, silentCa, "silent partner");
        OpenSslCa.Issued forged = forgedCrlCa.client("forged crl partner", "rsa:2048", "sha256");
        assertRejected(lenient, "127.0.4.5", forged, forgedCrlCa, "forged_crl_partner", "CRL signature failure");
        OpenSslCa.Issued future = futureCrlCa.client("future crl partner", "rsa:2048", "sha256");
        assertRejected(lenient, "127.0.4.6", future, futureCrlCa, "future_crl_partner", "CRL is not yet valid");
    }

    @Test
    @Order(5)
    void aCrlReplacedWhileRunningIsTakenWithAndWithoutReload() throws Exception {
        OpenSslCa.Issued later = issuing.client("later partner", "rsa:2048", "sha256");
        assertServed(watching, "127.0.5.1", later, issuing, "later partner");
        assertServed(reloading, "127.0.5.2", later, issuing, "later partner");
        issuing.revoke(later.cert());
        // the CA publishes the next CRL the way operators do: written aside, renamed into place
        Path next = dir.resolve("issuing-next.pem");
        issuing.crl(next, 7);
        Files.move(next, crlDir.resolve("issuing.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        awaitRejected(watching, "127.0.5.3", later, "later_partner", "certificate revoked");
        // without a reload the hourly listener still uses the CRL it read
        assertServed(reloading, "127.0.5.4", later, issuing, "later partner");
        reloading.updateTls(tls(reloadingCrls()));
        assertRejected(reloading, "127.0.5.5", later, issuing, "later_partner", "certificate revoked");

        // a garbage file dropped into the directory: the watcher keeps the CRLs it has and says why
        Files.writeString(crlDir.resolve("zz-garbage.pem"), "-----BEGIN X509 CRL-----\nnot a crl\n-----END X509 CRL-----\n");
        OpenSslCa.Issued good = issuing.client("still good partner", "rsa:2048", "sha256");
        assertServed(watching, "127.0.5.6", good, issuing, "still good partner");
        assertRejected(watching, "127.0.5.7", later, issuing, "later_partner", "certificate revoked");
        Files.delete(crlDir.resolve("zz-garbage.pem"));
    }

    /** Connects (from one source, at most ~30 s) until the watcher has taken the new CRL; served meanwhile is fine. */
    private static void awaitRejected(TlsListener l, String source, OpenSslCa.Issued leaf, String logCn, String reason)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            String out = connect(l, source, leaf, issuing);
            if (served.poll(15, TimeUnit.SECONDS) == null) {
                HandshakeFailure f = failures.poll(15, TimeUnit.SECONDS);
                assertThat(f).as(out).isNotNull();
                assertThat(f.reason()).isEqualTo("certificate verify failed (" + reason + ")");
                assertThat(log.flush(Duration.ofSeconds(10))).isTrue();
                assertThat(Files.readAllLines(logFile).stream().filter(x -> x.contains(" from " + source + " ")))
                        .singleElement().asString().startsWith("TLS error 167772294 during connect try from " + source
                                + " (" + logCn + "): certificate verify failed (" + reason + ")");
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the replaced CRL was not taken within 30 s");
    }

    @Test
    @Order(100)
    void fail2banRegexWithOs4xFilterMatchesEveryRejectAtItsSource() throws Exception {
        assertThat(log.flush(Duration.ofSeconds(10))).isTrue();
        List<String> lines = Files.readAllLines(logFile);
        assertThat(lines).hasSizeGreaterThanOrEqualTo(12);
        Fail2BanRegex.Result r = Fail2BanRegex.run(logFile);
        assertThat(r.missed()).as(r.output()).isZero();
        assertThat(r.matched()).isEqualTo(lines.size());
        List<String> expected = lines.stream().map(l -> l.split(" ")[7].replace(":", "")).toList();
        assertThat(r.matches()).extracting(Fail2BanRegex.Match::address).containsExactlyInAnyOrderElementsOf(expected);
        // a good partner is still served after all this
        assertServed(watching, "127.0.9.1", issuing.client("last partner", "rsa:2048", "sha256"), issuing, "last partner");
    }
}
