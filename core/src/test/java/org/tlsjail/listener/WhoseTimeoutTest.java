package org.tlsjail.listener;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.fail2banlog.Fail2BanLog;
import org.tlsjail.fail2banlog.Fail2BanLogConfig;
import org.tlsjail.pki.CertificateAuthority;
import org.tlsjail.pki.CertificateSpec;
import org.tlsjail.pki.Credential;
import org.tlsjail.pki.PemFiles;
import org.tlsjail.testing.Await;
import org.tlsjail.testing.ManualTime;
import org.tlsjail.tls.KeySource;
import org.tlsjail.tls.RevocationSettings;
import org.tlsjail.tls.ServerTls;
import org.tlsjail.tls.TlsSettings;
import org.tlsjail.tls.TrustSource;

/**
 * Issue 10 item 3, "only the client's fault counts", without waiting on the wall clock: the
 * listener's ticker and scheduler are a {@link ManualTime}, so its handshake watchdog fires when
 * the test advances time, and which side was slow is arranged, not hoped for.
 *
 * <ul>
 *   <li>The server is the slow side: a partner (JDK client, valid certificate) sends its
 *       certificate; the server's handshake thread is stopped inside the client-certificate
 *       verification (the CRL check reads the {@link InstantSource} given to {@link ServerTls}:
 *       the test's clock holds that read on a latch). Time passes past the wall-time bound, the
 *       watchdog cuts the connection, the verification resumes: not the client's failure.</li>
 *   <li>The client is the slow side: the same partner's client stops before answering the
 *       server's certificate request (its key manager waits on a latch) while the server's
 *       handshake thread is blocked reading: the timeout is the client's failure.</li>
 *   <li>The server too slow for a source maxretry times: none counted, but they were its tries
 *       (a flood that slows the server buys no extra flights): its next ClientHello gets none.</li>
 *   <li>The server had no slot: a ClientHello that arrived in time waits at the gate for a
 *       handshake slot (max-unproven-handshakes taken) until its time is up: reset, uncounted.</li>
 *   <li>The gate: a client that sends three bytes and nothing more is cut when its time is up
 *       on the ticker, not one deadline tick before.</li>
 * </ul>
 */
class WhoseTimeoutTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    /** What the watchdog allows a handshake in wall time (the ticker's): twice the handshake timeout. */
    private static final Duration WALL_BOUND = TIMEOUT.multipliedBy(2);

    @TempDir
    Path dir;

    private final ManualTime time = new ManualTime();
    private final HeldClock clock = new HeldClock();
    private final CountDownLatch clientMayGoOn = new CountDownLatch(1);
    private final ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> operational =
            new ch.qos.logback.core.read.ListAppender<>();
    private final ch.qos.logback.classic.Logger listenerLogger =
            (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(TlsListener.class);
    private BanEngine engine;
    private Fail2BanLog fail2ban;
    private Path fail2banFile;
    private TlsListener listener;
    private SSLContext partner;
    private Thread client;

    @AfterEach
    void tearDown() throws Exception {
        clock.release();
        clientMayGoOn.countDown();
        if (client != null) {
            client.join(20_000);
        }
        if (listener != null) {
            listener.close();
        }
        if (fail2ban != null) {
            fail2ban.close();
        }
        listenerLogger.detachAppender(operational);
    }

    private void start() throws Exception {
        start(b -> { });
    }

    private void start(java.util.function.Consumer<ListenerConfig.Builder> tune) throws Exception {
        CertificateAuthority ca = CertificateAuthority.create("whose-timeout CA", Duration.ofDays(2));
        Credential server = ca.issue(CertificateSpec.builder("localhost").dnsName("localhost")
                .ipAddress(InetAddress.getByName("127.0.0.1")).usage(CertificateSpec.Usage.SERVER).build());
        Credential client = ca.issue(CertificateSpec.builder("partner").usage(CertificateSpec.Usage.CLIENT).build());
        Path caFile = dir.resolve("ca.pem");
        Path chain = dir.resolve("server.pem");
        Path key = dir.resolve("server.key");
        PemFiles.writeCertificates(caFile, List.of(ca.certificate()));
        PemFiles.writeCertificates(chain, server.chain());
        PemFiles.writePrivateKey(key, server.privateKey());
        Path crl = dir.resolve("ca.crl");
        writeEmptyCrl(ca, crl);
        partner = clientContext(client, ca.certificate());

        engine = new BanEngine(JailConfig.defaults(), InstantSource.system());
        fail2banFile = dir.resolve("fail2ban.log");
        fail2ban = Fail2BanLog.open(Fail2BanLogConfig.of(fail2banFile), InstantSource.system());
        operational.start();
        listenerLogger.addAppender(operational);
        // the CRL check is what makes the server read its clock in the middle of verifying a chain
        TlsSettings settings = TlsSettings.of(KeySource.pem(chain, key), TrustSource.pemBundle(caFile))
                .withProtocols(List.of("TLSv1.3"))
                .withRevocation(RevocationSettings.of(List.of(crl)));
        ListenerConfig.Builder config = ListenerConfig.builder()
                .bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0)).handshakeTimeout(TIMEOUT);
        tune.accept(config);
        listener = TlsListener.builder(ServerTls.load(settings, clock), engine, (socket, remote, c) -> { })
                .config(config.build())
                .ticker(time.ticker())
                .scheduler(time.scheduler())
                .observer(fail2ban)
                .build().start();
    }

    @Test
    void aHandshakeTheServerWasTooSlowForIsNotTheClientsFailure() throws Exception {
        start();
        String source = "127.0.2.10";
        clock.holdNextHandshakeRead();
        client = partnerHandshakeFrom(source, false);
        assertThat(clock.held.await(30, TimeUnit.SECONDS))
                .as("the server's handshake thread stopped inside the client-certificate verification").isTrue();

        // the server sits on the partner's certificate past the watchdog's bound; the client waits
        time.advance(WALL_BOUND);
        clock.release();
        Await.until("the server's timeout noted", Duration.ofSeconds(30), () -> listener.stats().serverTimeouts() == 1,
                () -> listener.stats().toString());
        Await.until("its place given back", Duration.ofSeconds(30), () -> listener.stats().handshakesInProgress() == 0);

        ListenerStats stats = listener.stats();
        assertThat(stats.handshakesFailed()).as("not a failure of the client's").isZero();
        assertThat(stats.handshakesSucceeded()).as("the watchdog cut it").isZero();
        assertThat(engine.failures(InetAddress.getByName(source))).as("failures the engine counted").isZero();
        assertThat(engine.isBanned(InetAddress.getByName(source))).isFalse();
        assertThat(fail2banLines()).as("nothing for Fail2Ban").isEmpty();
        // the counter goes up just before the line is written
        Await.until("the operational log line", Duration.ofSeconds(30), () -> operationalLines().stream()
                .anyMatch(l -> l.startsWith("handshake from 127.0.2.10 ran out of time while the server was the slow side")
                        && l.contains("not counted as its failure (1 such since start)")), () -> operationalLines().toString());
    }

    @Test
    void aServerTooSlowForASourceStillSpendsItsTriesSoSlowingTheServerBuysNoExtraFlights() throws Exception {
        start();
        String source = "127.0.2.50";
        InetAddress address = InetAddress.getByName(source);
        int maxRetry = engine.config().maxRetry();
        for (int i = 1; i <= maxRetry; i++) {
            clock.holdNextHandshakeRead();
            Thread t = partnerHandshakeFrom(source, false);
            assertThat(clock.held.await(30, TimeUnit.SECONDS)).as("server held in verification, try " + i).isTrue();
            time.advance(WALL_BOUND);
            clock.release();
            int done = i;
            Await.until("server timeout " + i, Duration.ofSeconds(30), () -> listener.stats().serverTimeouts() == done
                    && listener.stats().handshakesInProgress() == 0, () -> listener.stats().toString());
            t.join(30_000);
        }
        assertThat(engine.failures(address)).as("none of them its failure").isZero();
        assertThat(engine.isBanned(address)).isFalse();

        // a further ClientHello from the source gets no server flight: it waits and is reset uncounted
        assertThat(firstByteAfterWaitingOutTheGate(source)).as("no server flight").isLessThan(0);
        assertThat(engine.failures(address)).isZero();
        assertThat(fail2banLines()).isEmpty();
        assertThat(listener.stats().handshakesFailed()).isZero();
    }

    @Test
    void aHandshakeTheClientStalledIsTheClientsFailure() throws Exception {
        start();
        String source = "127.0.2.20";
        int readingBefore = handshakeThreadsReadingTheClient();
        client = partnerHandshakeFrom(source, true);
        // the server's flight is out and its handshake thread waits for the client's certificate
        Await.until("the server's handshake thread blocked reading the client", Duration.ofSeconds(30),
                () -> handshakeThreadsReadingTheClient() > readingBefore);

        time.advance(WALL_BOUND);
        Await.until("the client's timeout counted", Duration.ofSeconds(30), () -> listener.stats().handshakesFailed() == 1,
                () -> listener.stats().toString());

        // the observers (the Fail2Ban log) hear of it after the engine
        Await.until("the Fail2Ban line", Duration.ofSeconds(30), () -> !fail2banLinesFrom(source).isEmpty());
        assertThat(listener.stats().serverTimeouts()).as("not the server's timeout").isZero();
        assertThat(engine.failures(InetAddress.getByName(source))).as("failures the engine counted").isEqualTo(1);
        assertThat(fail2banLines()).singleElement().asString()
                .startsWith("TLS error " + FailureKind.HANDSHAKE_TIMEOUT.code() + " during connect try from " + source + ": "
                        + FailureKind.HANDSHAKE_TIMEOUT.reason());
        assertThat(operationalLines()).noneSatisfy(l -> assertThat(l).contains("the server was the slow side"));
    }

    @Test
    void aClientHelloThatWaitedForASlotTheServerNeverHadIsNotCounted() throws Exception {
        start(c -> c.maxUnprovenHandshakes(1));
        String stalling = "127.0.2.40";
        String waiting = "127.0.2.41";
        int readingBefore = handshakeThreadsReadingTheClient();
        // the only handshake slot for unknown sources: a client that goes silent in its handshake
        client = partnerHandshakeFrom(stalling, true);
        Await.until("the server's handshake thread blocked reading the first client", Duration.ofSeconds(30),
                () -> handshakeThreadsReadingTheClient() > readingBefore);
        assertThat(firstByteAfterWaitingOutTheGate(waiting)).as("reset without a byte of TLS").isLessThan(0);
        assertThat(engine.failures(InetAddress.getByName(waiting))).as("the server had no slot: not its failure").isZero();
        assertThat(listener.stats().handshakesFailed()).isZero();

        // the silent one used up its own time while the server read: its failure, once the watchdog ends it
        time.advance(TIMEOUT);
        Await.until("the Fail2Ban line", Duration.ofSeconds(30), () -> !fail2banLinesFrom(stalling).isEmpty());
        assertThat(fail2banLines()).as("only the silent client's timeout").singleElement().asString()
                .contains(" from " + stalling + ": " + FailureKind.HANDSHAKE_TIMEOUT.reason());
        assertThat(listener.stats().serverTimeouts()).isZero();
    }

    /**
     * A slot freed after a waiting ClientHello's deadline passed but before the gate's next
     * deadline tick: the connection is waited out, not handed a late handshake (which would start
     * with a fresh budget of client time and end up to a whole timeout after its deadline).
     */
    @Test
    void aSlotFreedAfterAWaitingClientHellosDeadlineDoesNotStartItsHandshake() throws Exception {
        start(c -> c.maxUnprovenHandshakes(1));
        String holder = "127.0.2.60";
        String waiting = "127.0.2.61";
        int readingBefore = handshakeThreadsReadingTheClient();
        try (Socket a = clientHelloFrom(holder)) { // the only slot: its handshake waits for it
            Await.until("the holder's handshake thread reading it", Duration.ofSeconds(30),
                    () -> handshakeThreadsReadingTheClient() > readingBefore);
            try (Socket b = waitingForASlot(waiting)) {

                // past the waiting one's deadline with no deadline tick since: one tick runs just
                // before it, the next is due a tick period after that
                time.advance(TIMEOUT.minusMillis(FirstFlightGate.DEADLINE_TICK_MILLIS / 2));
                gateWentRoundTwice();
                assertThat(listener.stats().waitedOut()).as("not yet due").isZero();
                time.advance(Duration.ofMillis(FirstFlightGate.DEADLINE_TICK_MILLIS * 6 / 10));
                a.close(); // the slot comes free: the holder's handshake ends (its own failure)
                Await.until("waited out", Duration.ofSeconds(30), () -> listener.stats().waitedOut() == 1,
                        () -> listener.stats().toString());
                assertThat(firstByteOrReset(b)).as("reset without a byte of TLS").isLessThan(0);
            }
        }
        assertThat(engine.failures(InetAddress.getByName(waiting))).isZero();
        assertThat(fail2banLinesFrom(waiting)).isEmpty();
    }

    @Test
    void aClientSilentAtTheGateIsCutWhenItsOwnTimeIsUpNotBefore() throws Exception {
        start();
        String source = "127.0.2.30";
        try (Socket silent = new Socket()) {
            silent.bind(new InetSocketAddress(source, 0));
            silent.connect(listener.localAddress());
            silent.getOutputStream().write(Peers.clientHello(), 0, 3); // a ClientHello begun, then nothing
            silent.getOutputStream().flush();
            // parked: its accept time is on the ticker from here on
            Await.until("parked at the gate", Duration.ofSeconds(30), () -> listener.stats().handshakesInProgress() == 1);

            time.advance(TIMEOUT.minusMillis(FirstFlightGate.DEADLINE_TICK_MILLIS));
            gateWentRoundTwice();
            assertThat(engine.failures(InetAddress.getByName(source))).as("cut before its time").isZero();

            time.advance(Duration.ofMillis(FirstFlightGate.DEADLINE_TICK_MILLIS));
            InetAddress silentSource = InetAddress.getByName(source);
            Await.until("the silent client's timeout counted", Duration.ofSeconds(30),
                    () -> engine.failures(silentSource) == 1);
            silent.setSoTimeout(30_000);
            assertThat(silent.getInputStream().read()).as("closed by the listener, not a byte sent").isEqualTo(-1);
        }
        Await.until("the Fail2Ban line", Duration.ofSeconds(30), () -> !fail2banLinesFrom(source).isEmpty());
        assertThat(listener.stats().serverTimeouts()).isZero();
        assertThat(fail2banLines()).filteredOn(l -> l.contains(" from " + source + ":")).singleElement().asString()
                .startsWith("TLS error " + FailureKind.HANDSHAKE_TIMEOUT.code() + " during connect try from " + source + ": "
                        + FailureKind.HANDSHAKE_TIMEOUT.reason());
    }

    /**
     * Returns once the gate's thread has finished the loop in which it looked at its deadlines for
     * the last tick: a probe sending plain text is judged on the gate's thread in a later loop
     * than the tick (or the same one, whose hand-over it ends), and a second probe's in a later
     * loop than the first's.
     */
    private void gateWentRoundTwice() throws Exception {
        for (String probe : List.of("127.0.2.31", "127.0.2.32")) {
            InetAddress probeSource = InetAddress.getByName(probe);
            try (Socket s = new Socket()) {
                s.bind(new InetSocketAddress(probe, 0));
                s.connect(listener.localAddress());
                s.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                Await.until("the probe from " + probe + " judged", Duration.ofSeconds(30),
                        () -> engine.failures(probeSource) == 1);
            }
        }
    }

    /**
     * A partner's TLS 1.3 handshake from {@code source} on its own thread (it fails either way: the
     * watchdog cuts it). With {@code stallBeforeCertificate} its key manager waits on
     * {@link #clientMayGoOn} when the server asks for its certificate: the client goes silent.
     */
    private Thread partnerHandshakeFrom(String source, boolean stallBeforeCertificate) {
        stall.set(stallBeforeCertificate);
        Thread t = new Thread(() -> {
            try (Socket raw = new Socket()) {
                raw.bind(new InetSocketAddress(source, 0));
                raw.connect(listener.localAddress(), 30_000);
                raw.setSoTimeout(60_000);
                try (SSLSocket ssl = (SSLSocket) partner.getSocketFactory().createSocket(raw, "localhost",
                        listener.localAddress().getPort(), true)) {
                    ssl.startHandshake();
                    ssl.getInputStream().read();
                }
            } catch (Exception expected) {
                // cut by the watchdog
            }
        }, "partner-" + source);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private final AtomicBoolean stall = new AtomicBoolean();

    private SSLContext clientContext(Credential c, X509Certificate caCert) throws Exception {
        char[] pw = "pw".toCharArray();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("partner", c.privateKey(), pw, c.chain().toArray(new X509Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, pw);
        X509ExtendedKeyManager real = (X509ExtendedKeyManager) kmf.getKeyManagers()[0];
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", caCert);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(new javax.net.ssl.KeyManager[] {new StallingKeyManager(real)}, tmf.getTrustManagers(), null);
        return ctx;
    }

    /** The JDK client's key manager, which can make the client go silent when asked for its certificate. */
    private final class StallingKeyManager extends X509ExtendedKeyManager {
        private final X509ExtendedKeyManager real;

        StallingKeyManager(X509ExtendedKeyManager real) {
            this.real = real;
        }

        private void maybeStall() {
            if (stall.get()) {
                try {
                    clientMayGoOn.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            maybeStall();
            return real.chooseClientAlias(keyType, issuers, socket);
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            maybeStall();
            return real.chooseEngineClientAlias(keyType, issuers, engine);
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return real.getClientAliases(keyType, issuers);
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return real.getServerAliases(keyType, issuers);
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return real.chooseServerAlias(keyType, issuers, socket);
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return real.getCertificateChain(alias);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return real.getPrivateKey(alias);
        }
    }

    /**
     * The TLS material's clock: the system's, except that, once armed, the next read on one of the
     * listener's handshake threads (the CRL check of a client chain) waits until {@link #release()}.
     */
    private static final class HeldClock implements InstantSource {
        volatile CountDownLatch held = new CountDownLatch(1);
        private volatile CountDownLatch released = new CountDownLatch(1);
        private final AtomicBoolean armed = new AtomicBoolean();

        void holdNextHandshakeRead() {
            held = new CountDownLatch(1);
            released = new CountDownLatch(1);
            armed.set(true);
        }

        void release() {
            released.countDown();
        }

        @Override
        public Instant instant() {
            if (Thread.currentThread().getName().matches("tlsjail-handshake-\\d+") && armed.compareAndSet(true, false)) {
                CountDownLatch until = released;
                held.countDown();
                try {
                    until.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return Instant.now();
        }
    }

    /** The listener's handshake threads blocked in a read of the client's bytes. */
    private static int handshakeThreadsReadingTheClient() {
        int n = 0;
        for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
            if (!e.getKey().getName().matches("tlsjail-handshake-\\d+")) {
                continue;
            }
            for (StackTraceElement f : e.getValue()) {
                if (f.getClassName().equals(ObservedSocket.class.getName() + "$ObservedInput") && f.getMethodName().equals("read")) {
                    n++;
                    break;
                }
            }
        }
        return n;
    }

    private static void writeEmptyCrl(CertificateAuthority ca, Path file) throws Exception {
        Instant now = Instant.now();
        X509v2CRLBuilder b = new X509v2CRLBuilder(X500Name.getInstance(ca.certificate().getSubjectX500Principal().getEncoded()),
                Date.from(now.minus(Duration.ofHours(1))));
        b.setNextUpdate(Date.from(now.plus(Duration.ofDays(1))));
        b.addExtension(org.bouncycastle.asn1.x509.Extension.cRLNumber, false,
                new org.bouncycastle.asn1.x509.CRLNumber(BigInteger.ONE));
        var signer = new JcaContentSignerBuilder("SHA256withECDSA").build(ca.credential().privateKey());
        java.security.cert.X509CRL crl = new JcaX509CRLConverter().getCRL(b.build(signer));
        Files.writeString(file, "-----BEGIN X509 CRL-----\n"
                + java.util.Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(crl.getEncoded())
                + "\n-----END X509 CRL-----\n");
    }

    private List<String> fail2banLines() throws Exception {
        assertThat(fail2ban.flush(Duration.ofSeconds(10))).isTrue();
        return Files.exists(fail2banFile) ? Files.readAllLines(fail2banFile) : List.of();
    }

    private List<String> fail2banLinesFrom(String source) {
        try {
            return fail2banLines().stream().filter(l -> l.contains(" from " + source + ":")).toList();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private List<String> operationalLines() {
        synchronized (operational) {
            return operational.list.stream().map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList();
        }
    }

    /**
     * From {@code source}, a whole ClientHello (in time) that finds no handshake slot: held at the
     * gate until the timeout passes and it is waited out; then the first byte it reads (-1 or -2,
     * a reset, if none came).
     */
    private int firstByteAfterWaitingOutTheGate(String source) throws Exception {
        try (Socket s = waitingForASlot(source)) {
            time.advance(TIMEOUT);
            Await.until("waited out", Duration.ofSeconds(30), () -> listener.stats().waitedOut() == 1,
                    () -> listener.stats().toString());
            return firstByteOrReset(s);
        }
    }

    /** A connection from {@code source} that sent its whole ClientHello at once. */
    private Socket clientHelloFrom(String source) throws Exception {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(source, 0));
        s.connect(listener.localAddress());
        s.getOutputStream().write(Peers.clientHello());
        s.getOutputStream().flush();
        return s;
    }

    /** {@link #clientHelloFrom}, once the gate holds it waiting for a handshake slot (the only one waiting). */
    private Socket waitingForASlot(String source) throws Exception {
        Socket s = clientHelloFrom(source);
        Await.until("its ClientHello waiting for a slot", Duration.ofSeconds(30),
                () -> listener.stats().waitingForSlot() == 1, () -> listener.stats().toString());
        return s;
    }

    /** The first byte the server sent, -1 at a close, -2 at a reset. */
    private static int firstByteOrReset(Socket s) throws IOException {
        s.setSoTimeout(30_000);
        try {
            return s.getInputStream().read();
        } catch (java.net.SocketException reset) {
            return -2;
        }
    }
}
