package org.tlsjail.bench.load;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.tlsjail.listener.TlsListener;

/**
 * A server under test, in a JVM of its own so the harness can read its CPU time from /proc:
 * {@code ServerMain <kind> <pki-dir>}. Prints {@code PORT <n>} once it listens on 127.0.0.1 and
 * exits when its stdin closes; a {@code STATS} line on stdin is answered with {@code STATS <bytes>
 * <accepted>}: the bytes its accept thread has allocated and the connections it has accepted so
 * far. Kinds:
 * <ul>
 *   <li>{@code bare}: accept and close, nothing else (the floor for refusing a connection);
 *       {@code bare-rst} closes with a reset (SO_LINGER 0) making the JDK calls tlsjail's accept
 *       thread makes for a refusal (ServerSocketChannel accept, its socket's address, SO_LINGER 0,
 *       close), so the two differ only by tlsjail's own code;</li>
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
            Thread acceptThread = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().startsWith("tlsjail-accept-")).findFirst().orElseThrow();
            stopWhenStdinCloses(acceptThread, () -> listener.stats().accepted());
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
        if (kind.equals("bare-rst")) {
            // an IPv4 socket for an IPv4 address, as tlsjail's listener opens it
            ServerSocketChannel channel = ServerSocketChannel.open(java.net.StandardProtocolFamily.INET);
            channel.socket().setReuseAddress(true);
            channel.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), BACKLOG);
            stopWhenStdinCloses(Thread.currentThread(), () -> bareAccepted);
            System.out.println("PORT " + channel.socket().getLocalPort());
            System.out.flush();
            acceptAndReset(channel);
            return;
        }
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), BACKLOG);
        stopWhenStdinCloses(Thread.currentThread(), () -> bareAccepted);
        System.out.println("PORT " + server.getLocalPort());
        System.out.flush();
        if (ctx == null) {
            acceptAndClose(server);
        } else {
            miniTls(server, ctx);
        }
    }

    /** Accepted by the bare loops (written by their accept thread only). */
    private static volatile long bareAccepted;

    /** Exits when stdin closes; answers each {@code STATS} line (see the class comment). */
    private static void stopWhenStdinCloses(Thread acceptThread, LongSupplier accepted) {
        Thread watchdog = new Thread(() -> {
            com.sun.management.ThreadMXBean threads =
                    (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            try {
                BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
                String line;
                while ((line = in.readLine()) != null) { // the harness closes stdin to stop us
                    if (line.equals("STATS")) {
                        System.out.println("STATS " + threads.getThreadAllocatedBytes(acceptThread.getId()) + " "
                                + accepted.getAsLong());
                        System.out.flush();
                    }
                }
            } catch (IOException e) {
                // same
            }
            System.exit(0);
        }, "stdin-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }

    private static void acceptAndClose(ServerSocket server) throws IOException {
        while (true) {
            Socket s = server.accept();
            bareAccepted++;
            s.close();
        }
    }

    /** tlsjail's JDK calls for a refusal, and nothing of its own. */
    private static void acceptAndReset(ServerSocketChannel server) throws IOException {
        while (true) {
            SocketChannel ch = server.accept();
            bareAccepted++;
            Socket s = ch.socket();
            if (s.getInetAddress() != null) {
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
