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
 * queue and a wakeup, so it never blocks. Deadlines are judged on the listener's ticker (monotonic
 * nanoseconds) and looked at when the listener's scheduler calls {@link #deadlinesDue()} (every
 * {@value #DEADLINE_TICK_MILLIS} ms): so a test that advances its own ticker and fires that tick
 * sees the gate time connections out without waiting on the wall clock.
 *
 * <p>Behind a balancer ({@link ProxyProtocolSettings}) a connection first passes the PROXY header
 * stage here: its header is read (exactly its bytes, see {@link ProxyHeaderDecoder}) within the
 * header timeout, then the {@link ProxyStage} replaces the visit's source with the client's
 * address and admits it, and the same connection waits for its ClientHello as that source.
 */
final class FirstFlightGate implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FirstFlightGate.class);
    private static final int HEADER = FailureClassifier.PEEK;
    /** How often the listener's scheduler asks the gate to look at its deadlines (their precision). */
    static final long DEADLINE_TICK_MILLIS = 100;

    /**
     * How a connection left the gate. WAITED_OUT: its ClientHello was in, but the server never had
     * a slot for it before its time ran out: the server's doing, never the client's failure.
     */
    enum Exit { COMPLETE, EOF, RESET, TIMEOUT, WAITED_OUT }

    /** Called on the gate's thread. */
    interface Next {
        /**
         * The connection's ClientHello is in: may its handshake start now? False keeps it parked
         * (without reading) until {@link #slotFreed()} or its deadline.
         */
        boolean mayStart(Visit visit);

        /** The connection leaves the gate; the channel is blocking again. */
        void onFirstFlight(SocketChannel ch, Visit visit, byte[] firstBytes, Exit exit);
    }

    /** The PROXY header stage's outcomes, called on the gate's thread (see {@link TlsListener}). */
    interface ProxyStage {
        /**
         * The header is in. Sets the visit's source to the client and admits it; false if it was
         * refused (and closed).
         */
        boolean onHeader(SocketChannel ch, Visit visit, ProxyHeader header);

        /** The header was missing, malformed, cut short or late; the gate closes the connection after this call. */
        void onHeaderFailure(SocketChannel ch, Visit visit, String reason, String detail);
    }

    private record Arrival(SocketChannel ch, Visit visit, boolean behindProxy) {
    }

    private static final class Pending {
        final Visit visit;
        long deadlineNanos;
        ByteBuffer buf = ByteBuffer.allocate(HEADER);
        /** Non-null while the PROXY header is being read; the visit's source is then the balancer. */
        ProxyHeaderDecoder proxyHeader;
        /** Set once the ClientHello is in and the connection waits for a handshake slot. */
        boolean waiting;

        Pending(Visit visit, long deadlineNanos) {
            this.visit = visit;
            this.deadlineNanos = deadlineNanos;
        }
    }

    private final Selector selector;
    private final Queue<Arrival> arrivals = new ConcurrentLinkedQueue<>();
    private final long timeoutNanos;
    private final java.util.function.LongSupplier ticker;
    private final Next next;
    private final Thread thread;
    private final ProxyProtocolSettings proxy;
    private final ProxyStage proxyStage;
    private volatile boolean running = true;
    private final java.util.List<java.util.Map.Entry<SelectionKey, Exit>> leaving = new java.util.ArrayList<>();
    /** Parked connections whose ClientHello is in, oldest first: they get freed slots in this order. */
    private final java.util.ArrayDeque<SelectionKey> waiting = new java.util.ArrayDeque<>();
    private volatile int waitingCount;
    private volatile boolean slotFreed;
    /** Set by {@link #deadlinesDue()}: the next wakeup looks at every parked connection's deadline. */
    private volatile boolean deadlineScanDue;
    /** Whether any connection is parked (written by the gate's thread): the tick wakes nobody otherwise. */
    private volatile boolean anyParked;

    FirstFlightGate(long timeoutNanos, java.util.function.LongSupplier ticker, Next next,
                    java.util.concurrent.ThreadFactory threads) throws IOException {
        this(timeoutNanos, ticker, next, threads, ProxyProtocolSettings.OFF, null);
    }

    /** With a PROXY header stage for connections admitted by {@link #admitBehindProxy}. */
    FirstFlightGate(long timeoutNanos, java.util.function.LongSupplier ticker, Next next,
                    java.util.concurrent.ThreadFactory threads, ProxyProtocolSettings proxy, ProxyStage proxyStage)
            throws IOException {
        this.selector = Selector.open();
        this.timeoutNanos = timeoutNanos;
        this.ticker = ticker;
        this.next = next;
        this.proxy = proxy;
        this.proxyStage = proxyStage;
        this.thread = threads.newThread(this::run);
        thread.start();
    }

    /** From the accept thread: park {@code ch} until its first record is in. */
    void admit(SocketChannel ch, Visit visit) {
        arrivals.add(new Arrival(ch, visit, false));
        selector.wakeup();
    }

    /** From the accept thread: park {@code ch}, from a trusted balancer, until its PROXY header is in. */
    void admitBehindProxy(SocketChannel ch, Visit visit) {
        arrivals.add(new Arrival(ch, visit, true));
        selector.wakeup();
    }

    /** From any thread: a handshake slot was given back; waiting connections are tried again. */
    void slotFreed() {
        if (waitingCount > 0) {
            slotFreed = true;
            selector.wakeup();
        }
    }

    /**
     * From the listener's scheduler, every {@value #DEADLINE_TICK_MILLIS} ms: look at the parked
     * connections' deadlines (on the ticker's time) now. A wakeup only when one is parked.
     */
    void deadlinesDue() {
        if (anyParked) {
            deadlineScanDue = true;
            selector.wakeup();
        }
    }

    private void run() {
        while (running) {
            try {
                // no timeout: arrivals, freed slots, the deadline tick and close() all wake it
                selector.select();
                registerArrivals();
                for (SelectionKey key : selector.selectedKeys()) {
                    if (key.isValid() && key.isReadable()) {
                        read(key);
                    }
                }
                selector.selectedKeys().clear();
                if (slotFreed) {
                    slotFreed = false;
                    retryWaiting();
                }
                if (deadlineScanDue) {
                    deadlineScanDue = false;
                    long now = ticker.getAsLong();
                    for (SelectionKey key : selector.keys()) {
                        Pending p = (Pending) key.attachment();
                        if (key.isValid() && now - p.deadlineNanos >= 0) {
                            if (p.proxyHeader != null) {
                                headerFailed(key, p, "timeout", "no complete header within "
                                        + proxy.headerTimeout().toMillis() + " ms");
                            } else if (p.waiting) {
                                waiting.remove(key);
                                waitingCount = waiting.size();
                                leave(key, Exit.WAITED_OUT);
                            } else {
                                p.visit.clientWaitNanos = now - p.visit.acceptedAtNanos;
                                leave(key, Exit.TIMEOUT);
                            }
                        }
                    }
                }
                handOver();
                anyParked = !selector.keys().isEmpty();
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
                Pending p = new Pending(a.visit(), a.visit().acceptedAtNanos
                        + (a.behindProxy() ? proxy.headerTimeout().toNanos() : timeoutNanos));
                if (a.behindProxy()) {
                    p.proxyHeader = new ProxyHeaderDecoder(proxy.version());
                }
                a.ch().register(selector, SelectionKey.OP_READ, p);
            } catch (IOException | RuntimeException e) {
                if (a.behindProxy()) {
                    try {
                        proxyStage.onHeaderFailure(a.ch(), a.visit(), "reset", e.toString());
                    } finally {
                        closeQuietly(a.ch());
                    }
                } else {
                    next.onFirstFlight(a.ch(), a.visit(), new byte[0], Exit.RESET);
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
        complete(key);
    }

    /** The whole first record is in: on to a handshake if the source may start one, else wait. */
    private void complete(SelectionKey key) {
        Pending p = (Pending) key.attachment();
        p.visit.clientWaitNanos = ticker.getAsLong() - p.visit.acceptedAtNanos;
        if (next.mayStart(p.visit)) {
            leave(key, Exit.COMPLETE);
            return;
        }
        // nothing more is read while it waits: a TLS client sends nothing until the server's flight
        p.waiting = true;
        key.interestOps(0);
        waiting.add(key);
        waitingCount = waiting.size();
    }

    private void retryWaiting() {
        long now = ticker.getAsLong();
        for (java.util.Iterator<SelectionKey> it = waiting.iterator(); it.hasNext(); ) {
            SelectionKey key = it.next();
            if (!key.isValid()) {
                it.remove();
            } else if (now - ((Pending) key.attachment()).deadlineNanos >= 0) {
                // its time ran out since the last deadline tick: a handshake started now would get a
                // fresh budget of client time and end up to a whole timeout late (seen in SlowClientsTest)
                it.remove();
                leave(key, Exit.WAITED_OUT);
            } else if (next.mayStart(((Pending) key.attachment()).visit)) {
                it.remove();
                leave(key, Exit.COMPLETE);
            }
        }
        waitingCount = waiting.size();
    }

    /**
     * Reads what is there of the PROXY header, never past it. True once the header is in and the
     * listener admitted the client it names: the same connection then goes on to its ClientHello
     * (which may already be waiting in the socket), within the handshake time counted from accept.
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
        p.proxyHeader = null;
        if (!proxyStage.onHeader(ch, p.visit, d.header())) {
            key.cancel();
            return false;
        }
        p.deadlineNanos = p.visit.acceptedAtNanos + timeoutNanos;
        return true;
    }

    private void headerFailed(SelectionKey key, Pending p, String reason, String detail) {
        key.cancel();
        SocketChannel ch = (SocketChannel) key.channel();
        try {
            proxyStage.onHeaderFailure(ch, p.visit, reason, detail);
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
                next.onFirstFlight(ch, p.visit, bytes, exit);
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

    /** Connections parked with their ClientHello in, waiting for a handshake slot. */
    int waiting() {
        return waitingCount;
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
