package org.tlsjail.listener;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.pki.DemoPki;
import org.tlsjail.tls.KeySource;
import org.tlsjail.tls.ServerTls;
import org.tlsjail.tls.TlsSettings;
import org.tlsjail.testing.Await;
import org.tlsjail.testing.ManualTime;
import org.tlsjail.tls.TrustSource;

/**
 * Attacks on the first-flight gate before any timeout fires (the hostile suite's
 * {@code SlowClientsTest} covers the cut at the timeout, at scale). Clients that connect and send
 * nothing, or a few bytes of a ClientHello and then stall, wait in the gate without a handshake
 * thread: with only two handshake threads, a partner still completes its handshake while forty of
 * them are parked. And a source banned while its ClientHello is on the way gets no TLS work.
 */
class StalledFirstFlightTest {
    @TempDir
    Path dir;

    @Test
    void stalledClientsDoNotHoldHandshakeThreads() throws Exception {
        DemoPki.Layout pki = DemoPki.ensure(dir);
        TlsSettings settings = TlsSettings.of(KeySource.pem(pki.serverChain(), pki.serverKey()),
                TrustSource.pemBundle(pki.caCertificate()));
        BanEngine engine = new BanEngine(JailConfig.defaults(), InstantSource.system());
        BlockingQueue<String> handled = new LinkedBlockingQueue<>();
        ConnectionHandler handler = (socket, remote, chain) -> handled.add(remote.getAddress().getHostAddress());
        List<Socket> stalled = new ArrayList<>();
        // the listener's time moves only when the test says: no stalled client is cut while the
        // partner connects, however slow the machine, and all of them are when their time is up
        ManualTime time = new ManualTime();
        Duration timeout = Duration.ofSeconds(60);
        try (TlsListener listener = TlsListener.builder(ServerTls.load(settings, InstantSource.system()), engine, handler)
                .config(ListenerConfig.builder().bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0))
                        .handshakeThreads(2).handshakeTimeout(timeout).build())
                .ticker(time.ticker()).scheduler(time.scheduler())
                .build().start()) {
            byte[] hello = Peers.clientHello();
            for (int source = 0; source < 5; source++) {
                for (int i = 0; i < 8; i++) {
                    Socket s = new Socket();
                    s.bind(new InetSocketAddress("127.0.1." + (10 + source), 0));
                    s.connect(listener.localAddress());
                    if (i % 2 == 1) {
                        OutputStream out = s.getOutputStream();
                        out.write(hello, 0, 1 + i); // a slow ClientHello: a few bytes, then nothing
                        out.flush();
                    }
                    stalled.add(s);
                }
            }
            Peers.Run partner = Peers.sClient(listener.localAddress(), "127.0.1.90", "-tls1_3",
                    "-cert", pki.clientChain().toString(), "-key", pki.clientKey().toString(),
                    "-CAfile", pki.caCertificate().toString());
            assertThat(partner.output()).contains("Verify return code: 0 (ok)");
            assertThat(handled.poll(20, TimeUnit.SECONDS)).isEqualTo("127.0.1.90");
            ListenerStats stats = listener.stats();
            assertThat(stats.handshakesFailed()).as("no stalled client was cut yet").isZero();
            assertThat(stats.accepted()).isEqualTo(41);

            Await.until("all forty parked", Duration.ofSeconds(20), () -> listener.stats().handshakesInProgress() == 40);
            time.advance(timeout);
            // each stalled connection is a timeout of its source's until the source is banned
            // (maxretry), then refused as banned: every one accounted for, none left parked
            Await.until("all forty cut", Duration.ofSeconds(30), () -> listener.stats().handshakesInProgress() == 0
                    && listener.stats().handshakesFailed() + listener.stats().refusedBanned() == 40,
                    () -> listener.stats().toString());
            for (int source = 0; source < 5; source++) {
                assertThat(engine.isBanned(InetAddress.getByName("127.0.1." + (10 + source)))).isTrue();
            }
            assertThat(listener.stats().handshakesFailed()).isEqualTo(5L * engine.config().maxRetry());
        } finally {
            for (Socket s : stalled) {
                s.close();
            }
        }
    }

    @Test
    void aSourceBannedWhileItsClientHelloIsOnTheWayGetsNoTlsWork() throws Exception {
        DemoPki.Layout pki = DemoPki.ensure(dir);
        TlsSettings settings = TlsSettings.of(KeySource.pem(pki.serverChain(), pki.serverKey()),
                TrustSource.pemBundle(pki.caCertificate()));
        BanEngine engine = new BanEngine(JailConfig.defaults(), InstantSource.system());
        try (TlsListener listener = TlsListener.builder(ServerTls.load(settings, InstantSource.system()), engine,
                        (socket, remote, chain) -> { })
                .config(ListenerConfig.builder().bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0)).build())
                .build().start();
             Socket s = new Socket()) {
            s.bind(new InetSocketAddress("127.0.1.120", 0));
            s.connect(listener.localAddress());
            // connect() returns once the kernel has the connection; wait until tlsjail accepted it
            Await.until("tlsjail accepted the connection", Duration.ofSeconds(10), () -> listener.stats().accepted() >= 1);
            assertThat(listener.stats().accepted()).isEqualTo(1);
            // accepted and admitted; now the attacker's previous failure bans it (as in a race)
            engine.ban(InetAddress.getByName("127.0.1.120"), Duration.ofMinutes(5), "test");
            s.setSoTimeout(20_000);
            int firstByte;
            try {
                s.getOutputStream().write(Peers.clientHello());
                s.getOutputStream().flush();
                firstByte = s.getInputStream().read();
            } catch (java.net.SocketException reset) {
                firstByte = -2; // RST
            }
            assertThat(firstByte).as("no ServerHello, only a reset or a close").isLessThan(0);
            ListenerStats stats = listener.stats();
            assertThat(stats.refusedBanned()).isEqualTo(1);
            assertThat(stats.handshakesFailed()).isZero();
        }
    }
}
