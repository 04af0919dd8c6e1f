package org.tlsjail.listener;

import java.io.IOException;
import java.net.InetAddress;
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
 */
final class FirstFlightGate implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FirstFlightGate.class);
    private static final int HEADER = FailureClassifier.PEEK;

    /** How a connection left the gate. */
    enum Exit { COMPLETE, EOF, RESET, TIMEOUT }

    /** Called on the gate's thread when a connection leaves it; the channel is blocking again. */
    interface Next {
        void onFirstFlight(SocketChannel ch, InetAddress source, long acceptedAtNanos, byte[] firstBytes, Exit exit);
    }

    private record Arrival(SocketChannel ch, InetAddress source, long acceptedAtNanos) {
    }

    private static final class Pending {
        final InetAddress source;
        final long acceptedAtNanos;
        final long deadlineNanos;
        ByteBuffer buf = ByteBuffer.allocate(HEADER);

        Pending(InetAddress source, long acceptedAtNanos, long deadlineNanos) {
            this.source = source;
            this.acceptedAtNanos = acceptedAtNanos;
            this.deadlineNanos = deadlineNanos;
        }
    }

    private final Selector selector;
    private final Queue<Arrival> arrivals = new ConcurrentLinkedQueue<>();
    private final long timeoutNanos;
    private final Next next;
    private final Thread thread;
    private volatile boolean running = true;
    private final java.util.List<java.util.Map.Entry<SelectionKey, Exit>> leaving = new java.util.ArrayList<>();

    FirstFlightGate(long timeoutNanos, Next next, java.util.concurrent.ThreadFactory threads) throws IOException {
        this.selector = Selector.open();
        this.timeoutNanos = timeoutNanos;
        this.next = next;
        this.thread = threads.newThread(this::run);
        thread.start();
    }

    /** From the accept thread: park {@code ch} until its first record is in. */
    void admit(SocketChannel ch, InetAddress source, long acceptedAtNanos) {
        arrivals.add(new Arrival(ch, source, acceptedAtNanos));
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
                            leave(key, Exit.TIMEOUT);
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
                a.ch().register(selector, SelectionKey.OP_READ,
                        new Pending(a.source(), a.acceptedAtNanos(), a.acceptedAtNanos() + timeoutNanos));
            } catch (IOException | RuntimeException e) {
                next.onFirstFlight(a.ch(), a.source(), a.acceptedAtNanos(), new byte[0], Exit.RESET);
            }
        }
    }

    private void read(SelectionKey key) {
        Pending p = (Pending) key.attachment();
        SocketChannel ch = (SocketChannel) key.channel();
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
                next.onFirstFlight(ch, p.source, p.acceptedAtNanos, bytes, exit);
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
