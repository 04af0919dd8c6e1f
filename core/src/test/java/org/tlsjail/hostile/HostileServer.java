package org.tlsjail.hostile;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.jsse.provider.BouncyCastleJsseProvider;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.fail2banlog.Fail2BanLog;
import org.tlsjail.fail2banlog.Fail2BanLogConfig;
import org.tlsjail.listener.ListenerConfig;
import org.tlsjail.listener.ListenerStats;
import org.tlsjail.listener.TlsListener;
import org.tlsjail.pki.CertificateAuthority;
import org.tlsjail.pki.CertificateSpec;
import org.tlsjail.pki.Credential;
import org.tlsjail.pki.PemFiles;
import org.tlsjail.tls.KeySource;
import org.tlsjail.tls.ServerTls;
import org.tlsjail.tls.TlsSettings;
import org.tlsjail.tls.TrustSource;

/**
 * A real tlsjail listener on 127.0.0.1 (ephemeral port) with a real ban engine and Fail2Ban log,
 * mutual TLS required, plus a legitimate Bouncy Castle JSSE client with a valid certificate. The
 * application handler writes one byte ('K') so the client can prove the connection reached it.
 */
final class HostileServer implements AutoCloseable {
    /** Source of the legitimate client; no attack in this suite uses it. */
    static final InetAddress LEGIT_SOURCE = Sources.of(0, 1); // 127.0.0.2

    final Path dir;
    final SettableClock clock = new SettableClock();
    final CertificateAuthority ca;
    final Credential client;
    final BanEngine engine;
    final Fail2BanLog log;
    final TlsListener listener;
    private final SSLContext clientContext;

    HostileServer(Path dir, JailConfig jail, UnaryOperator<ListenerConfig.Builder> listenerConfig) throws Exception {
        QuietLogs.apply();
        this.dir = dir;
        ca = CertificateAuthority.create("hostile suite CA", Duration.ofDays(30));
        Credential server = ca.issue(CertificateSpec.builder("localhost").dnsName("localhost")
                .ipAddress(InetAddress.getByName("127.0.0.1")).usage(CertificateSpec.Usage.SERVER).build());
        client = ca.issue(CertificateSpec.builder("legitimate partner").organization("tlsjail tests").build());
        PemFiles.writeCertificates(dir.resolve("ca.pem"), List.of(ca.certificate()));
        PemFiles.writeCertificates(dir.resolve("server-chain.pem"), server.chain());
        PemFiles.writePrivateKey(dir.resolve("server-key.pem"), server.privateKey());
        ServerTls tls = ServerTls.load(TlsSettings.of(KeySource.pem(dir.resolve("server-chain.pem"),
                dir.resolve("server-key.pem")), TrustSource.pemBundle(dir.resolve("ca.pem"))), clock);
        engine = new BanEngine(jail, clock);
        log = Fail2BanLog.open(Fail2BanLogConfig.of(dir.resolve("tlsjail-fail2ban.log")), clock);
        ListenerConfig.Builder lc = ListenerConfig.builder().bind(new InetSocketAddress("127.0.0.1", 0)).backlog(1024);
        listener = TlsListener.builder(tls, engine, (socket, remote, chain) -> {
            socket.getOutputStream().write('K');
            socket.getOutputStream().flush();
        }).config(listenerConfig.apply(lc).build()).observer(log).clock(clock).build().start();
        clientContext = clientContext(client, ca);
    }

    InetSocketAddress address() {
        return listener.localAddress();
    }

    Path logFile() {
        return log.config().file();
    }

    /**
     * A legitimate mutual-TLS handshake from {@code source}; returns its duration in nanoseconds
     * (connect to the application's first byte). Throws if the handshake or the read fails.
     */
    long legitimateHandshake(InetAddress source, int timeoutMillis) throws IOException {
        return legitimateHandshake(source, timeoutMillis, clientContext);
    }

    /** As {@link #legitimateHandshake(InetAddress, int)}, with another client TLS stack (e.g. SunJSSE). */
    long legitimateHandshake(InetAddress source, int timeoutMillis, SSLContext clientContext) throws IOException {
        long t0 = System.nanoTime();
        try (java.net.Socket raw = new java.net.Socket()) {
            raw.bind(new InetSocketAddress(source, 0));
            raw.connect(address(), timeoutMillis);
            raw.setSoTimeout(timeoutMillis);
            try (SSLSocket s = (SSLSocket) clientContext.getSocketFactory().createSocket(raw, "localhost",
                    address().getPort(), true)) {
                s.setUseClientMode(true);
                s.startHandshake();
                InputStream in = s.getInputStream();
                int b = in.read();
                if (b != 'K') {
                    throw new IOException("application byte expected after handshake, got " + b);
                }
            }
        }
        return System.nanoTime() - t0;
    }

    /** Waits until no handshake is in progress and every connection the kernel handed over is counted. */
    ListenerStats awaitQuiet(long expectedAccepted, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        ListenerStats s = listener.stats();
        while (System.nanoTime() < deadline) {
            s = listener.stats();
            long settled = s.refusedBanned() + s.refusedOverLimit() + s.handshakesSucceeded() + s.handshakesFailed();
            if (s.accepted() >= expectedAccepted && s.handshakesInProgress() == 0 && settled == s.accepted()) {
                return s;
            }
            Thread.sleep(50);
        }
        return s;
    }

    long logLines() throws IOException {
        try (var lines = Files.lines(logFile(), java.nio.charset.StandardCharsets.US_ASCII)) {
            return lines.count();
        }
    }

    static SSLContext clientContext(Credential credential, CertificateAuthority trusted) throws Exception {
        return clientContext(credential, trusted, new BouncyCastleJsseProvider(new BouncyCastleProvider()));
    }

    /** The partner's client context on the JDK's own TLS stack (SunJSSE). */
    SSLContext sunJsseClientContext() throws Exception {
        return clientContext(client, ca, null);
    }

    /** {@code jsse} null: the JDK's default provider (SunJSSE). */
    private static SSLContext clientContext(Credential credential, CertificateAuthority trusted,
                                            java.security.Provider jsse) throws Exception {
        char[] pw = "pw".toCharArray();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("client", credential.privateKey(), pw, credential.chain().toArray(Certificate[]::new));
        KeyManagerFactory kmf = jsse == null ? KeyManagerFactory.getInstance("SunX509")
                : KeyManagerFactory.getInstance("X.509", jsse);
        kmf.init(ks, pw);
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, null);
        ts.setCertificateEntry("ca", trusted.certificate());
        TrustManagerFactory tmf = jsse == null ? TrustManagerFactory.getInstance("PKIX")
                : TrustManagerFactory.getInstance("PKIX", jsse);
        tmf.init(ts);
        SSLContext ctx = jsse == null ? SSLContext.getInstance("TLS") : SSLContext.getInstance("TLS", jsse);
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), new SecureRandom());
        return ctx;
    }

    @Override
    public void close() {
        listener.close();
        log.close();
    }
}
