package org.tlsjail.bench.load;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.tlsjail.listener.TlsListener;

/**
 * A server under test, in a JVM of its own so the harness can read its CPU time from /proc:
 * {@code ServerMain <kind> <pki-dir>}. Prints {@code PORT <n>} once it listens on 127.0.0.1 and
 * exits when its stdin closes. Kinds:
 * <ul>
 *   <li>{@code bare}: accept and close, nothing else (the floor for refusing a connection);
 *       {@code bare-rst} closes with a reset (SO_LINGER 0) as tlsjail does;</li>
 *   <li>{@code mini-bcjsse}, {@code mini-sunjsse}: a minimal mutual-TLS server (BC JSSE over
 *       BC's crypto provider, as tlsjail's ServerTls, or SunJSSE), one handshake
 *       per connection on a small pool, then reads one byte and answers {@code ok}.</li>
 *   <li>{@code tlsjail}: the real listener ({@link TlsjailServer}); system properties
 *       {@code bench.maxretry}, {@code bench.banned=<second octet>:<count>} (sources banned
 *       before start) and {@code bench.f2blog} (its Fail2Ban log).</li>
 * </ul>
 */
public final class ServerMain {
    static final int BACKLOG = 4096;
    private static final boolean NODELAY = Boolean.parseBoolean(System.getProperty("bench.nodelay", "true"));
    private static final boolean DEBUG = Boolean.getBoolean("bench.debug");

    private ServerMain() {
    }

    /** Held so the level sticks: Bouncy Castle logs every handshake at INFO through java.util.logging. */
    private static final java.util.logging.Logger BC_LOG = java.util.logging.Logger.getLogger("org.bouncycastle");

    public static void main(String[] args) throws Exception {
        BC_LOG.setLevel(DEBUG ? java.util.logging.Level.ALL : java.util.logging.Level.SEVERE);
        String kind = args[0];
        BenchPki pki = BenchPki.createIn(Path.of(args[1]));
        if (kind.equals("tlsjail")) {
            String[] banned = System.getProperty("bench.banned", "1:0").split(":");
            int count = Integer.parseInt(banned[1]);
            TlsListener listener = new TlsjailServer(Integer.getInteger("bench.maxretry", 3),
                    count == 0 ? null : new LoopbackSources(Integer.parseInt(banned[0]), count),
                    Path.of(System.getProperty("bench.f2blog", "fail2ban-bench.log"))).start(pki);
            stopWhenStdinCloses();
            System.out.println("PORT " + listener.localAddress().getPort());
            System.out.flush();
            Thread.currentThread().join();
            return;
        }
        SSLContext ctx = switch (kind) {
            case "bare", "bare-rst" -> null;
            case "mini-bcjsse" -> TlsContexts.server(pki, TlsContexts.Jsse.BCJSSE);
            case "mini-sunjsse" -> TlsContexts.server(pki, TlsContexts.Jsse.SUNJSSE);
            default -> throw new IllegalArgumentException("unknown server kind " + kind);
        };
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), BACKLOG);
        stopWhenStdinCloses();
        System.out.println("PORT " + server.getLocalPort());
        System.out.flush();
        if (ctx == null) {
            acceptAndClose(server, kind.equals("bare-rst"));
        } else {
            miniTls(server, ctx);
        }
    }

    private static void stopWhenStdinCloses() {
        Thread watchdog = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // the harness closes stdin to stop us
                }
            } catch (IOException e) {
                // same
            }
            System.exit(0);
        }, "stdin-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }

    private static void acceptAndClose(ServerSocket server, boolean reset) throws IOException {
        while (true) {
            Socket s = server.accept();
            if (reset) {
                s.setSoLinger(true, 0);
            }
            s.close();
        }
    }

    private static void miniTls(ServerSocket server, SSLContext ctx) throws IOException {
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()));
        while (true) {
            Socket plain = server.accept();
            pool.execute(() -> serveOne(ctx, plain));
        }
    }

    private static void serveOne(SSLContext ctx, Socket plain) {
        try (Socket s = plain;
             SSLSocket tls = (SSLSocket) ctx.getSocketFactory().createSocket(s, null, s.getPort(), true)) {
            s.setSoTimeout(10_000);
            s.setTcpNoDelay(NODELAY);
            tls.setUseClientMode(false);
            tls.setNeedClientAuth(true);
            tls.startHandshake();
            InputStream in = tls.getInputStream();
            if (in.read() >= 0) {
                OutputStream out = tls.getOutputStream();
                out.write("ok\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
        } catch (IOException e) {
            // a failed handshake is part of the load
            if (DEBUG) {
                e.printStackTrace();
            }
        }
    }
}
