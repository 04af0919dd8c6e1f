package org.tlsjail.metrics;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code /metrics} endpoint: a small HTTP/1.1 server on one selector thread, serving the
 * registry in Prometheus' text format, one request per connection ({@code Connection: close}).
 *
 * <p>Written instead of the Prometheus client's {@code HTTPServer} (the JDK's HttpServer), where
 * ten clients that send half a request kept scrapes waiting for minutes and connections closed
 * early leaked descriptors. Here no client can hold anything but its own socket and a small buffer:
 * the request head must arrive within {@link Limits#requestTimeout()}, a connection silent for
 * {@link Limits#idleTimeout()} is closed, at most {@link Limits#maxConnections()} are open (the
 * one silent longest is closed for a new one), and the answer must be taken within the request timeout too.
 */
public final class MetricsHttpServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MetricsHttpServer.class);
    private static final long MAX_TICK_MILLIS = 250;

    /**
     * @param requestTimeout  from accept until the request head is complete, and again for the answer
     * @param idleTimeout     longest silence while a request head is being read
     * @param maxConnections  open connections at most; the one silent longest is closed to admit a new one
     * @param maxRequestBytes size of a request head at most (answered 431 beyond)
     */
    public record Limits(Duration requestTimeout, Duration idleTimeout, int maxConnections, int maxRequestBytes) {
        /** 10 s request, 5 s idle, 32 connections, 8 KiB heads. */
        public static final Limits DEFAULT = new Limits(Duration.ofSeconds(10), Duration.ofSeconds(5), 32, 8192);

        public Limits {
            Objects.requireNonNull(requestTimeout);
            Objects.requireNonNull(idleTimeout);
            if (maxConnections < 1 || maxRequestBytes < 64) {
                throw new IllegalArgumentException("metrics limits too small");
            }
        }
    }

    private final PrometheusRegistry registry;
    private final Limits limits;
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    private final ServerSocketChannel server;
    private final Selector selector;
    private final Thread thread;
    /** Open connections (selector thread only). */
    private final LinkedHashMap<SocketChannel, Conn> conns = new LinkedHashMap<>();
    private volatile boolean closed;
    private SelectionKey acceptKey;      // selector thread only
    private long acceptPausedUntil;      // selector thread only; 0 = accepting
    private boolean acceptFailureLogged; // selector thread only
    private static final long ACCEPT_PAUSE_NANOS = 100_000_000L;

    /** One connection: reading its request head, then writing the answer. */
    private static final class Conn {
        final SelectionKey key;
        final ByteBuffer in;
        ByteBuffer out;
        long deadline;
        long idleDeadline;
        long lastActivity;

        Conn(SelectionKey key, int size, long now, long deadline, long idleDeadline) {
            this.key = key;
            this.in = ByteBuffer.allocate(size);
            this.lastActivity = now;
            this.deadline = deadline;
            this.idleDeadline = idleDeadline;
        }
    }

    private MetricsHttpServer(PrometheusRegistry registry, Limits limits, ServerSocketChannel server, Selector selector) {
        this.registry = registry;
        this.limits = limits;
        this.server = server;
        this.selector = selector;
        this.thread = new Thread(this::loop, "tlsjail-metrics");
        this.thread.setDaemon(true);
    }

    /** Binds {@code address} and starts serving. */
    public static MetricsHttpServer start(PrometheusRegistry registry, InetSocketAddress address, Limits limits)
            throws IOException {
        ServerSocketChannel ssc = ServerSocketChannel.open();
        Selector sel = null;
        try {
            ssc.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            ssc.bind(address, 64);
            ssc.configureBlocking(false);
            sel = Selector.open();
            ssc.register(sel, SelectionKey.OP_ACCEPT);
        } catch (IOException | RuntimeException e) {
            ssc.close();
            if (sel != null) {
                sel.close();
            }
            throw e;
        }
        MetricsHttpServer s = new MetricsHttpServer(registry, limits, ssc, sel);
        s.thread.start();
        return s;
    }

    public int port() {
        return server.socket().getLocalPort();
    }

    /** Connections open now (for tests and status). */
    int openConnections() {
        synchronized (conns) {
            return conns.size();
        }
    }

    @Override
    public void close() {
        closed = true;
        selector.wakeup();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void loop() {
        try {
            while (!closed) {
                selector.select(MAX_TICK_MILLIS);
                long now = System.nanoTime();
                if (acceptPausedUntil != 0 && now - acceptPausedUntil >= 0) {
                    acceptPausedUntil = 0;
                    acceptKey.interestOps(SelectionKey.OP_ACCEPT);
                }
                Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                while (it.hasNext()) {
                    SelectionKey k = it.next();
                    it.remove();
                    if (!k.isValid()) {
                        continue;
                    }
                    if (k.isAcceptable()) {
                        acceptKey = k;
                        accept(now);
                    } else {
                        SocketChannel ch = (SocketChannel) k.channel();
                        Conn c = conns.get(ch);
                        if (c != null) {
                            serve(ch, c, now);
                        }
                    }
                }
                expire(now);
            }
        } catch (IOException | RuntimeException e) {
            if (!closed) {
                LOG.error("metrics endpoint stopped: {}", e.toString());
            }
        } finally {
            synchronized (conns) {
                conns.keySet().forEach(MetricsHttpServer::closeQuietly);
                conns.clear();
            }
            closeQuietly(server);
            try {
                selector.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    private void accept(long now) {
        SocketChannel ch;
        while ((ch = acceptOne(now)) != null) {
            if (conns.size() >= limits.maxConnections()) {
                evictLongestSilent();
            }
            Conn c;
            try {
                ch.configureBlocking(false);
                SelectionKey key = ch.register(selector, SelectionKey.OP_READ);
                c = new Conn(key, limits.maxRequestBytes(), now, now + limits.requestTimeout().toNanos(),
                        now + limits.idleTimeout().toNanos());
                synchronized (conns) {
                    conns.put(ch, c);
                }
            } catch (IOException e) {
                closeQuietly(ch);
                continue;
            }
            // read at once: a scraper whose request is already here is answered now, and a client that
            // already closed is gone now, so in a burst only connections really stalling count to the bound
            serve(ch, c, now);
        }
    }

    /**
     * Closes the connection that has been silent longest: a stalling client rather than a scraper,
     * whose request follows its connect at once (and one already sent is answered on accept).
     */
    private void evictLongestSilent() {
        SocketChannel victim = null;
        long oldest = 0;
        for (java.util.Map.Entry<SocketChannel, Conn> e : conns.entrySet()) {
            if (victim == null || e.getValue().lastActivity - oldest < 0) {
                victim = e.getKey();
                oldest = e.getValue().lastActivity;
            }
        }
        if (victim != null) {
            drop(victim);
        }
    }

    /**
     * One accept; on failure (out of descriptors: the TLS listener shares the process's limit)
     * accepting pauses for 100 ms instead of spinning on a listening socket that stays readable,
     * and the endpoint keeps serving the connections it has.
     */
    private SocketChannel acceptOne(long now) {
        try {
            return server.accept();
        } catch (IOException e) {
            if (!acceptFailureLogged) {
                acceptFailureLogged = true;
                LOG.warn("metrics endpoint cannot accept: {} (retrying every 100 ms; reported once)", e.toString());
            }
            acceptKey.interestOps(0);
            acceptPausedUntil = now + ACCEPT_PAUSE_NANOS;
            if (acceptPausedUntil == 0) {
                acceptPausedUntil = 1;
            }
            return null;
        }
    }

    private void serve(SocketChannel ch, Conn c, long now) {
        try {
            if (c.out == null) {
                int n = ch.read(c.in);
                if (n < 0) {
                    drop(ch); // closed before (or instead of) a complete request
                    return;
                }
                c.idleDeadline = now + limits.idleTimeout().toNanos();
                c.lastActivity = now;
                byte[] answer = answerIfComplete(c.in);
                if (answer == null) {
                    return;
                }
                c.out = ByteBuffer.wrap(answer);
                c.deadline = now + limits.requestTimeout().toNanos();
                c.idleDeadline = c.deadline; // the answer is bounded by the request timeout alone
                c.key.interestOps(SelectionKey.OP_WRITE);
            }
            ch.write(c.out);
            if (!c.out.hasRemaining()) {
                drop(ch); // Connection: close; the client sees EOF after the body
            }
        } catch (IOException | RuntimeException e) {
            drop(ch); // reset by the client, or anything else: nothing to keep
        }
    }

    /** The whole response, once the request head is complete (or can never be); else null. */
    private byte[] answerIfComplete(ByteBuffer in) throws IOException {
        int end = headEnd(in);
        if (end < 0) {
            return in.hasRemaining() ? null : response("431 Request Header Fields Too Large", "request head too large\n");
        }
        String head = new String(in.array(), 0, end, StandardCharsets.ISO_8859_1);
        int eol = head.indexOf('\n');
        String[] requestLine = (eol < 0 ? head : head.substring(0, eol)).strip().split(" ");
        if (requestLine.length != 3 || !requestLine[2].startsWith("HTTP/1.")) {
            return response("400 Bad Request", "bad request\n");
        }
        String method = requestLine[0];
        String path = requestLine[1];
        int q = path.indexOf('?');
        if (q >= 0) {
            path = path.substring(0, q);
        }
        if (!method.equals("GET") && !method.equals("HEAD")) {
            return response("405 Method Not Allowed", "GET /metrics\n");
        }
        if (!path.equals("/metrics") && !path.equals("/")) {
            return response("404 Not Found", "GET /metrics\n");
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream(4096);
        writer.write(body, registry.scrape());
        byte[] b = body.toByteArray();
        byte[] h = header("200 OK", writer.getContentType(), b.length);
        if (method.equals("HEAD")) {
            return h;
        }
        byte[] all = new byte[h.length + b.length];
        System.arraycopy(h, 0, all, 0, h.length);
        System.arraycopy(b, 0, all, h.length, b.length);
        return all;
    }

    /** Index just past the blank line ending the head ({@code \r\n\r\n} or {@code \n\n}), or -1. */
    private static int headEnd(ByteBuffer in) {
        byte[] a = in.array();
        int n = in.position();
        for (int i = 1; i < n; i++) {
            if (a[i] == '\n' && (a[i - 1] == '\n' || (i >= 3 && a[i - 1] == '\r' && a[i - 2] == '\n' && a[i - 3] == '\r'))) {
                return i + 1;
            }
        }
        return -1;
    }

    private static byte[] response(String status, String text) {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        byte[] h = header(status, "text/plain; charset=utf-8", b.length);
        byte[] all = new byte[h.length + b.length];
        System.arraycopy(h, 0, all, 0, h.length);
        System.arraycopy(b, 0, all, h.length, b.length);
        return all;
    }

    private static byte[] header(String status, String contentType, int length) {
        return ("HTTP/1.1 " + status + "\r\nContent-Type: " + contentType + "\r\nContent-Length: " + length
                + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    private void expire(long now) {
        Iterator<java.util.Map.Entry<SocketChannel, Conn>> it = conns.entrySet().iterator();
        while (it.hasNext()) {
            java.util.Map.Entry<SocketChannel, Conn> e = it.next();
            Conn c = e.getValue();
            if (now - c.deadline >= 0 || now - c.idleDeadline >= 0) {
                closeQuietly(e.getKey());
                synchronized (conns) {
                    it.remove();
                }
            }
        }
    }

    private void drop(SocketChannel ch) {
        closeQuietly(ch);
        synchronized (conns) {
            conns.remove(ch);
        }
    }

    private static void closeQuietly(java.nio.channels.Channel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // the descriptor is released either way
        }
    }
}
