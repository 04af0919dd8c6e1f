package org.tlsjail.daemon;

import org.tlsjail.forward.RelayLimits;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.config.ConfigLoader;
import org.tlsjail.config.TlsjailConfig;
import org.tlsjail.pki.DemoPki;
import org.tlsjail.pki.PemFiles;
import org.tlsjail.testing.Await;

/**
 * Issue 10 item 4 and issue 14 item 14: forward mode bounds relayed connections per source (the
 * ban unit) and in total, refusing the extra ones after their handshake (no backend connection),
 * and a backend that does not read holds the client back (TCP flow control) instead of memory.
 * The attacker holds a valid certificate: it passes the handshake and then opens relays.
 */
class RelayLimitsTest {
    @TempDir
    Path dir;
    /** The TCP sockets under the TLS ones: closing them never waits for a TLS lock a blocked writer holds. */
    private final List<Socket> raws = new CopyOnWriteArrayList<>();

    /** A backend that accepts and never reads. */
    static final class DeafBackend implements AutoCloseable {
        final ServerSocket server = new ServerSocket(0, 100, InetAddress.getByName("127.0.0.1"));
        final List<Socket> accepted = new CopyOnWriteArrayList<>();
        final Thread thread = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    accepted.add(server.accept());
                } catch (IOException e) {
                    return;
                }
            }
        }, "deaf-backend");

        DeafBackend() throws IOException {
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : accepted) {
                s.close();
            }
        }
    }

    @Test
    void relaysAreBoundedPerSourceAndInTotalAndADeafBackendHoldsNoMemory() throws Exception {
        try (DeafBackend backend = new DeafBackend()) {
            Path yaml = dir.resolve("tlsjail.yaml");
            Files.writeString(yaml, "state-dir: " + dir.resolve("state") + "\n"
                    + "listen: {address: 127.0.0.1, port: 0}\n"
                    + "fail2ban-log: {path: " + dir.resolve("f2b.log") + "}\n"
                    + "forward: {to: \"127.0.0.1:" + backend.server.getLocalPort() + "\", max-relays: 5,"
                    + " max-relays-per-source: 3}\n");
            TlsjailConfig config = new ConfigLoader(dir).load(yaml, null);
            BanEngine engine = new BanEngine(config.jail(), InstantSource.system());
            org.tlsjail.files.FileSafety files = org.tlsjail.files.FileSafety.forThisProcess();
            StateDirectory state = StateDirectory.prepare(config.stateDir(), files);
            List<Socket> clients = new ArrayList<>();
            org.tlsjail.fail2banlog.Fail2BanLog f2b = TlsFront.openLog(config.fail2banLog(), InstantSource.system(), files);
            try (f2b; TlsFront front = TlsFront.open(config, state, engine, InstantSource.system(), List.of(), f2b)) {
                SSLContext ctx = demoClient(DemoPki.layout(state.demoPki()));
                InetAddress a = InetAddress.getByName("127.0.91.1");
                InetAddress b = InetAddress.getByName("127.0.91.2");
                InetAddress c = InetAddress.getByName("127.0.91.3");
                for (int i = 0; i < 3; i++) {
                    clients.add(relay(ctx, a, front.port()));
                }
                Await.until("3 relays at the backend", Duration.ofSeconds(20), () -> backend.accepted.size() == 3);
                // the 4th from the same source: handshake done, then closed; no backend connection
                Socket refused = relay(ctx, a, front.port());
                assertThat(refused.getInputStream().read()).as("refused relay is closed").isEqualTo(-1);
                clients.add(relay(ctx, b, front.port()));
                clients.add(relay(ctx, b, front.port()));
                Await.until("5 relays at the backend", Duration.ofSeconds(20), () -> backend.accepted.size() == 5);
                Socket overTotal = relay(ctx, c, front.port());
                assertThat(overTotal.getInputStream().read()).as("relay over max-relays is closed").isEqualTo(-1);
                RelayLimits.Stats s = front.relayStats();
                assertThat(s.open()).isEqualTo(5);
                assertThat(s.refusedSourceLimit()).isEqualTo(1);
                assertThat(s.refusedTotalLimit()).isEqualTo(1);
                assertThat(backend.accepted).hasSize(5);

                // the backend never reads: a client pushing 64 MB gets stuck after the socket buffers
                Socket pusher = clients.get(0);
                Thread push = new Thread(() -> {
                    try {
                        OutputStream out = pusher.getOutputStream();
                        byte[] chunk = new byte[64 * 1024];
                        for (int i = 0; i < 1024; i++) {
                            out.write(chunk);
                        }
                    } catch (IOException e) {
                        // closed at the end of the test
                    }
                }, "pusher");
                push.setDaemon(true);
                push.start();
                Await.until("bytes relayed", Duration.ofSeconds(20), () -> front.relayStats().bytesToBackend() > 0);
                long settled;
                long prev = -1;
                do {
                    settled = front.relayStats().bytesToBackend();
                    if (settled == prev) {
                        break;
                    }
                    prev = settled;
                    Thread.sleep(500);
                } while (true);
                assertThat(push.isAlive()).as("the client is held back by the deaf backend").isTrue();
                assertThat(settled).as("bytes taken from the client while the backend reads nothing")
                        .isLessThan(32L * 1024 * 1024);
                StringBuilder status = new StringBuilder();
                front.appendStatus(status);
                System.out.printf("relay limits: %s; deaf backend stopped the client after %d kB%n%s", front.relayStats(),
                        settled / 1024, status);
                assertThat(status.toString()).contains("relays:          5 open (max 5, 3 per source)");

                // the backend goes away: connect failures are counted
                backend.close();
                Socket late = relay(ctx, InetAddress.getByName("127.0.91.4"), front.port());
                assertThat(late.getInputStream().read()).as("no backend: closed after the handshake").isEqualTo(-1);
                raws.forEach(RelayLimitsTest::closeQuietly);
                Await.until("connect failure counted", Duration.ofSeconds(20), () -> front.relayStats().connectFailures() == 1);
                Await.until("no relay open", Duration.ofSeconds(20), () -> front.relayStats().open() == 0);
            } finally {
                raws.forEach(RelayLimitsTest::closeQuietly);
            }
        }
    }

    private Socket relay(SSLContext ctx, InetAddress source, int port) throws IOException {
        Socket raw = new Socket();
        raws.add(raw);
        raw.bind(new InetSocketAddress(source, 0));
        raw.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        raw.setSoTimeout(20_000);
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(raw, "localhost", port, true);
        s.setUseClientMode(true);
        s.startHandshake();
        return s;
    }

    private static SSLContext demoClient(DemoPki.Layout demo) throws Exception {
        char[] pw = demo.pkcs12Password().toCharArray();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = new FileInputStream(demo.clientPkcs12().toFile())) {
            ks.load(in, pw);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, pw);
        KeyStore ts = KeyStore.getInstance("PKCS12");
        ts.load(null, null);
        ts.setCertificateEntry("ca", PemFiles.readCertificates(demo.caCertificate()).get(0));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ts);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    @Test
    void listenerAndRelayMetricsRegisterUnderValidNames() throws Exception {
        BanEngine engine = new BanEngine(org.tlsjail.banengine.JailConfig.defaults(), InstantSource.system());
        try (org.tlsjail.metrics.DaemonMetrics m = new org.tlsjail.metrics.DaemonMetrics(engine, () -> 0)) {
            TlsFront.registerMetrics(m, () -> null); // throws on an invalid or duplicate name
            m.serve("127.0.0.1", 0);
            java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + m.port() + "/metrics")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(r.body()).contains("tlsjail_relays_open 0", "tlsjail_backend_connect_failures_total 0",
                    "tlsjail_relayed_bytes_to_backend_total 0", "tlsjail_handshake_server_timeouts_total 0",
                    "tlsjail_handshakes_waiting 0");
        }
    }
}
