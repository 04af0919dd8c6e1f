package org.tlsjail.faults;

import org.tlsjail.testing.Await;
import java.io.File;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.FailureOutcome;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.listener.ConnectionHandler;
import org.tlsjail.listener.HandshakeFailure;
import org.tlsjail.listener.HandshakeObserver;
import org.tlsjail.listener.ListenerConfig;
import org.tlsjail.listener.TlsListener;
import org.tlsjail.tls.ServerTls;

/**
 * A real tlsjail in-process: ban engine (maxretry 3), TLS listener on 127.0.0.1:0 with the test
 * PKI, the observers a test passes (the Fail2Ban log, ...), and the clients that drive it: raw
 * sockets sending plain HTTP (one failure each), {@code openssl s_client} without a certificate,
 * and a legitimate partner (JDK TLS client with the partner certificate) whose handshake is timed.
 */
final class ListenerUnderTest implements AutoCloseable {
    static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

    final BanEngine engine;
    final TlsListener listener;
    private final SSLContext partner;
    private final Map<String, AtomicInteger> failures = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> refusals = new ConcurrentHashMap<>();

    ListenerUnderTest(TestPki pki, List<HandshakeObserver> observers) throws Exception {
        engine = new BanEngine(JailConfig.defaults(), InstantSource.system());
        partner = pki.partnerContext();
        ConnectionHandler greeter = (socket, remote, chain) -> {
            OutputStream out = socket.getOutputStream();
            out.write(("hello " + chain.get(0).getSubjectX500Principal().getName() + "\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
        };
        HandshakeObserver counter = new HandshakeObserver() {
            @Override
            public void onFailure(HandshakeFailure f, FailureOutcome o) {
                failures.computeIfAbsent(f.remote().getAddress().getHostAddress(), k -> new AtomicInteger()).incrementAndGet();
            }

            @Override
            public void onRefused(InetAddress source, Refusal refusal) {
                refusals.computeIfAbsent(source.getHostAddress(), k -> new AtomicInteger()).incrementAndGet();
            }
        };
        TlsListener.Builder b = TlsListener.builder(ServerTls.load(pki.serverSettings(), InstantSource.system()), engine, greeter)
                .config(ListenerConfig.builder().bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0))
                        .handshakeTimeout(HANDSHAKE_TIMEOUT).build());
        for (HandshakeObserver o : observers) {
            b.observer(o);
        }
        listener = b.observer(counter).build().start();
    }

    int failuresOf(String source) {
        AtomicInteger n = failures.get(source);
        return n == null ? 0 : n.get();
    }

    int refusalsOf(String source) {
        AtomicInteger n = refusals.get(source);
        return n == null ? 0 : n.get();
    }

    boolean isBanned(String source) throws Exception {
        return engine.isBanned(InetAddress.getByName(source));
    }

    /** One failed handshake from {@code source}: plain HTTP on the TLS port; waits until the listener counted it. */
    void garbageFrom(String source) throws Exception {
        int before = failuresOf(source);
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(source, 0));
            s.connect(listener.localAddress());
            s.setSoTimeout(15_000);
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            s.getInputStream().readAllBytes();
        } catch (SocketException ignored) {
            // a reset after the verdict is fine
        }
        Await.until("failure from " + source + " counted", Duration.ofSeconds(15), () -> failuresOf(source) > before);
    }

    /** A connection from {@code source}; true if the listener refused it (reset, not a byte sent). */
    boolean refusedFrom(String source) throws Exception {
        int before = refusalsOf(source);
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(source, 0));
            s.connect(listener.localAddress());
            s.setSoTimeout(15_000);
            InputStream in = s.getInputStream();
            int b = in.read();
            if (b >= 0) {
                return false;
            }
        } catch (SocketException reset) {
            // expected for a banned source
        }
        Await.until("refusal of " + source + " counted", Duration.ofSeconds(15), () -> refusalsOf(source) > before);
        return true;
    }

    /** {@code openssl s_client} without a client certificate from {@code source}: one failed handshake. */
    void sClientWithoutCertificateFrom(String source) throws Exception {
        int before = failuresOf(source);
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect",
                "127.0.0.1:" + listener.localAddress().getPort(), "-bind", source + ":0", "-servername", "localhost", "-tls1_3"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        p.getInputStream().readAllBytes();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("openssl s_client timed out");
        }
        Await.until("s_client failure from " + source + " counted", Duration.ofSeconds(15), () -> failuresOf(source) > before);
    }

    /**
     * A legitimate mutual-TLS session from {@code source}: handshake with the partner certificate
     * and the greeting read. Returns the time from connect to greeting in milliseconds.
     */
    double partnerSessionMillis(String source) throws Exception {
        long t0 = System.nanoTime();
        try (Socket raw = new Socket()) {
            raw.bind(new InetSocketAddress(source, 0));
            raw.connect(listener.localAddress(), (int) HANDSHAKE_TIMEOUT.toMillis());
            raw.setSoTimeout((int) HANDSHAKE_TIMEOUT.toMillis());
            try (SSLSocket ssl = (SSLSocket) partner.getSocketFactory().createSocket(raw, "localhost",
                    listener.localAddress().getPort(), true)) {
                ssl.startHandshake();
                byte[] greeting = ssl.getInputStream().readNBytes(6);
                if (!new String(greeting, StandardCharsets.US_ASCII).equals("hello ")) {
                    throw new AssertionError("no greeting from the application handler");
                }
            }
        }
        return (System.nanoTime() - t0) / 1e6;
    }

    @Override
    public void close() {
        listener.close();
    }
}
