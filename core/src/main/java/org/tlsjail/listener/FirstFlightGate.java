package org.tlsjail.listener;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds each admitted connection, without a thread, until its first TLS record (the
 * ClientHello) has fully arrived, it proves not to be TLS, it ends, or its handshake time runs
 * out. Only then does it get a handshake thread.
 *
 * <p>Why: a thread per connection from the first byte lets a few thousand clients that connect
 * and send nothing, or one byte a second, occupy every handshake thread until their timeout,
 * while a partner waits. Parked here they cost a file descriptor and the bytes they actually
 * sent (at most one record, 16 kB), and the partner's ClientHello goes straight to a thread.
 *
 * <p>One selector thread does all of it; the accept thread hands connections over through a
 * queue and a wakeup, so it never blocks.
 *
 * <p>Behind a balancer ({@link ProxyProtocolSettings}) a connection first passes the PROXY header
 * stage here: its header is read (exactly its bytes, see {@link ProxyHeaderDecoder}) within the
 * header timeout, then the {@link ProxyStage} decides on the client's address, and the same
 * connection waits for its ClientHello with that address as its source.
 */
final class FirstFlightGate implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FirstFlightGate.class);
    private static final int HEADER = FailureClassifier.PEEK;

    /** How a connection left the gate. */
    enum Exit { COMPLETE, EOF, RESET, TIMEOUT }

    /** Called on the gate's thread when a connection leaves it; the channel is blocking again. */
    interface Next {
        /** {@code remote} is the client: the TCP peer, or the address a trusted balancer's header named. */
        void onFirstFlight(SocketChannel ch, InetSocketAddress remote, long acceptedAtNanos, byte[] firstBytes, Exit exit);
    }

    /** The PROXY header stage's outcomes, called on the gate's thread (see {@link TlsListener}). */
    interface ProxyStage {
        /**
         * The header is in. Returns the client's address, from which the connection waits for its
         * ClientHello, or null if it was refused (and closed).
         */
        InetSocketAddress onHeader(SocketChannel ch, InetSocketAddress proxy, ProxyHeader header);

        /** The header was missing, malformed, cut short or late; the gate closes the connection after this call. */
        void onHeaderFailure(SocketChannel ch, InetSocketAddress proxy, String reason, String detail);
    }

    private record Arrival(SocketChannel ch, InetSocketAddress remote, long acceptedAtNanos, boolean behindProxy) {
    }

    private static final class Pending {
        InetSocketAddress remote;
        long acceptedAtNanos;
        long deadlineNanos;
        ByteBuffer buf = ByteBuffer.allocate(HEADER);
        /** Non-null while the PROXY header is being read; {@code remote} is then the balancer. */
        ProxyHeaderDecoder proxyHeader;

        Pending(InetSocketAddress remote, long acceptedAtNanos, long deadlineNanos) {
            this.remote = remote;
            this.acceptedAtNanos = acceptedAtNanos;
            this.deadlineNanos = deadlineNanos;
        }
    }

    private final Selector selector;
    private final Queue<Arrival> arrivals = new ConcurrentLinkedQueue<>();
    private final long timeoutNanos;
    private final Next next;
    private final Thread thread;
    private final ProxyProtocolSettings proxy;
    private final ProxyStage proxyStage;
    private volatile boolean running = true;
    private final java.util.List<java.util.Map.Entry<SelectionKey, Exit>> leaving = new java.util.ArrayList<>();

    FirstFlightGate(long timeoutNanos, Next next, java.util.concurrent.ThreadFactory threads) throws IOException {
        this(timeoutNanos, next, threads, ProxyProtocolSettings.OFF, null);
    }

    /** With a PROXY header stage for connections admitted by {@link #admitBehindProxy}. */
    FirstFlightGate(long timeoutNanos, Next next, java.util.concurrent.ThreadFactory threads,
                    ProxyProtocolSettings proxy, ProxyStage proxyStage) throws IOException {
        this.selector = Selector.open();
        this.timeoutNanos = timeoutNanos;
        this.next = next;
        this.proxy = proxy;
        this.proxyStage = proxyStage;
        this.thread = threads.newThread(this::run);
        thread.start();
    }

    /** From the accept thread: park {@code ch} until its first record is in. */
    void admit(SocketChannel ch, InetSocketAddress remote, long acceptedAtNanos) {
        arrivals.add(new Arrival(ch, remote, acceptedAtNanos, false));
        selector.wakeup();
    }

    /** From the accept thread: park {@code ch}, from a trusted balancer, until its PROXY header is in. */
    void admitBehindProxy(SocketChannel ch, InetSocketAddress proxyAddress, long acceptedAtNanos) {
        arrivals.add(new Arrival(ch, proxyAddress, acceptedAtNanos, true));
        selector.wakeup();
    }

    private void run() {
        long nextDeadlineScan = 0;
        while (running) {
            try {
                selector.select(250);
                registerArrivals();
                for (SelectionKey key : selector.selectedKeys()) {
                    if (key.isValid() && key.isReadable()) {
                        read(key);
                    }
                }
                selector.selectedKeys().clear();
                long now = System.nanoTime();
                if (now - nextDeadlineScan >= 0) {
                    nextDeadlineScan = now + TimeUnit.MILLISECONDS.toNanos(100);
                    for (SelectionKey key : selector.keys()) {
                        Pending p = (Pending) key.attachment();
                        if (key.isValid() && now - p.deadlineNanos >= 0) {
                            if (p.proxyHeader != null) {
                                headerFailed(key, p, "timeout", "no complete header within "
                                        + proxy.headerTimeout().toMillis() + " ms");
                            } else {
                                leave(key, Exit.TIMEOUT);
                            }
                        }
                    }
                }
                handOver();
            } catch (ClosedSelectorException e) {
                return;
            } catch (IOException | RuntimeException e) {
                // never let one bad connection stop the gate for everyone
                LOG.warn("first-flight gate: {}", e.toString());
            }
        }
    }

    private void registerArrivals() {
        Arrival a;
        while ((a = arrivals.poll()) != null) {
            try {
                a.ch().configureBlocking(false);
                Pending p = new Pending(a.remote(), a.acceptedAtNanos(), a.acceptedAtNanos()
                        + (a.behindProxy() ? proxy.headerTimeout().toNanos() : timeoutNanos));
                if (a.behindProxy()) {
                    p.proxyHeader = new ProxyHeaderDecoder(proxy.version());
                }
                a.ch().register(selector, SelectionKey.OP_READ, p);
            } catch (IOException | RuntimeException e) {
                if (a.behindProxy()) {
                    proxyStage.onHeaderFailure(a.ch(), a.remote(), "reset", e.toString());
                    closeQuietly(a.ch());
                } else {
                    next.onFirstFlight(a.ch(), a.remote(), a.acceptedAtNanos(), new byte[0], Exit.RESET);
                }
            }
        }
    }

    private void read(SelectionKey key) {
        Pending p = (Pending) key.attachment();
        SocketChannel ch = (SocketChannel) key.channel();
        if (p.proxyHeader != null && !readProxyHeader(key, p, ch)) {
            return;
        }
        int n;
        try {
            n = ch.read(p.buf);
        } catch (IOException e) {
            leave(key, Exit.RESET);
            return;
        }
        if (n < 0) {
            leave(key, Exit.EOF);
            return;
        }
        if (p.buf.position() < HEADER || p.buf.hasRemaining()) {
            return;
        }
        if (p.buf.capacity() == HEADER) {
            byte[] h = p.buf.array();
            if (FailureClassifier.judgePrefix(h, HEADER) != null) {
                leave(key, Exit.COMPLETE); // not TLS (or a record too long): the classifier says what
                return;
            }
            int len = ((h[3] & 0xFF) << 8) | (h[4] & 0xFF);
            ByteBuffer whole = ByteBuffer.allocate(HEADER + len);
            whole.put(h);
            p.buf = whole;
            if (len > 0) {
                read(key); // the rest may already be there
                return;
            }
        }
        leave(key, Exit.COMPLETE);
    }

    /**
     * Reads what is there of the PROXY header, never past it. True once the header is in and the
     * listener took the client's address: the same connection then goes on to its ClientHello
     * (which may already be waiting in the socket), with its handshake time counted from now.
     */
    private boolean readProxyHeader(SelectionKey key, Pending p, SocketChannel ch) {
        ProxyHeaderDecoder d = p.proxyHeader;
        ProxyHeaderDecoder.State state = ProxyHeaderDecoder.State.NEED_MORE;
        while (state == ProxyHeaderDecoder.State.NEED_MORE) {
            int n;
            try {
                n = ch.read(d.buffer());
            } catch (IOException e) {
                headerFailed(key, p, "reset", e.toString());
                return false;
            }
            if (n < 0) {
                headerFailed(key, p, d.consumed() == 0 ? "missing" : "truncated",
                        "connection ended after " + d.consumed() + " header byte(s)");
                return false;
            }
            state = d.advance();
            if (n == 0 && state == ProxyHeaderDecoder.State.NEED_MORE) {
                return false; // the rest comes later
            }
        }
        if (state == ProxyHeaderDecoder.State.FAILED) {
            headerFailed(key, p, "malformed", d.failure());
            return false;
        }
        InetSocketAddress client = proxyStage.onHeader(ch, p.remote, d.header());
        if (client == null) {
            key.cancel();
            return false;
        }
        long now = System.nanoTime();
        p.proxyHeader = null;
        p.remote = client;
        p.acceptedAtNanos = now;
        p.deadlineNanos = now + timeoutNanos;
        return true;
    }

    private void headerFailed(SelectionKey key, Pending p, String reason, String detail) {
        key.cancel();
        SocketChannel ch = (SocketChannel) key.channel();
        try {
            proxyStage.onHeaderFailure(ch, p.remote, reason, detail);
        } finally {
            closeQuietly(ch);
        }
    }

    /** Marks {@code key} as done; the hand-over happens in {@link #handOver()}, after iterating. */
    private void leave(SelectionKey key, Exit exit) {
        key.cancel();
        leaving.add(java.util.Map.entry(key, exit));
    }

    private void handOver() throws IOException {
        if (leaving.isEmpty()) {
            return;
        }
        selector.selectNow(); // deregisters the cancelled keys, so their channels may block again
        for (java.util.Map.Entry<SelectionKey, Exit> e : leaving) {
            Pending p = (Pending) e.getKey().attachment();
            SocketChannel ch = (SocketChannel) e.getKey().channel();
            Exit exit = e.getValue();
            byte[] bytes = java.util.Arrays.copyOf(p.buf.array(), p.buf.position());
            try {
                ch.configureBlocking(true);
            } catch (IOException | RuntimeException ex) {
                exit = Exit.RESET;
            }
            try {
                next.onFirstFlight(ch, p.remote, p.acceptedAtNanos, bytes, exit);
            } catch (RuntimeException ex) {
                LOG.warn("first-flight hand-over failed", ex);
                closeQuietly(ch);
            }
        }
        leaving.clear();
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // already broken
        }
    }

    /** Connections parked right now. */
    int parked() {
        return selector.keys().size();
    }

    @Override
    public void close() {
        running = false;
        selector.wakeup();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            for (SelectionKey key : selector.keys()) {
                key.channel().close();
            }
            selector.close();
        } catch (IOException | RuntimeException e) {
            // closing: nothing left to do
        }
        Arrival a;
        while ((a = arrivals.poll()) != null) {
            try {
                a.ch().close();
            } catch (IOException e) {
                // closing
            }
        }
    }
}
