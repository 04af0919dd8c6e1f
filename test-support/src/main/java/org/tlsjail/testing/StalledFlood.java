package org.tlsjail.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The stalled-ClientHello flood, shared by the hostile suite and bench/: connections that send a
 * whole real ClientHello at once and then nothing, each making the server do its half of a
 * handshake and then wait; and half-open ones ({@link #openSilent}) that connect and send nothing.
 * One selector thread holds them all, counts per source the connections that received bytes (a
 * server flight) and sees each close (a reset or the server's close).
 *
 * <p>{@link #open} may be called from many threads at once (the attacker opens in parallel).
 */
public final class StalledFlood implements AutoCloseable {
    /** One connection's source counter and whether its server flight was counted (selector thread only). */
    private static final class Conn {
        final AtomicInteger sourceFlights;
        boolean answered;

        Conn(AtomicInteger sourceFlights) {
            this.sourceFlights = sourceFlights;
        }
    }

    private final byte[] hello;
    private final Selector selector;
    private final ConcurrentLinkedQueue<Object[]> pending = new ConcurrentLinkedQueue<>();
    private final Map<InetAddress, AtomicInteger> flights = new ConcurrentHashMap<>();
    private final Thread thread;
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicInteger answered = new AtomicInteger();
    private final AtomicInteger closedByServer = new AtomicInteger();
    private volatile boolean stopped;

    /** @param hello the ClientHello record every stalled connection sends (e.g. {@link ClientHellos#jdk}) */
    public StalledFlood(byte[] hello) throws IOException {
        this.hello = hello.clone();
        this.selector = Selector.open();
        this.thread = new Thread(this::loop, "stalled-flood");
        thread.setDaemon(true);
        thread.start();
    }

    /** Opens one connection from {@code source} that sends the whole ClientHello and then stalls. */
    public void open(InetAddress source, InetSocketAddress server) throws IOException {
        connect(source, server, true);
    }

    /** Opens one half-open connection from {@code source}: connected, nothing sent, ever. */
    public void openSilent(InetAddress source, InetSocketAddress server) throws IOException {
        connect(source, server, false);
    }

    private void connect(InetAddress source, InetSocketAddress server, boolean sendHello) throws IOException {
        SocketChannel ch = SocketChannel.open();
        try {
            ch.bind(new InetSocketAddress(source, 0));
            ch.connect(server);
            if (sendHello) {
                ByteBuffer b = ByteBuffer.wrap(hello);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
            }
            ch.configureBlocking(false);
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        open.incrementAndGet();
        pending.add(new Object[] {ch, new Conn(flights.computeIfAbsent(source, s -> new AtomicInteger()))});
        selector.wakeup();
    }

    /** Connections that received a server flight (any bytes), all sources together. */
    public int answered() {
        return answered.get();
    }

    /** Connections from {@code source} that received a server flight. */
    public int flights(InetAddress source) {
        AtomicInteger n = flights.get(source);
        return n == null ? 0 : n.get();
    }

    /** Connections still open (not yet reset or closed by the server). */
    public int openConnections() {
        return open.get();
    }

    /** Connections the server reset or closed. */
    public int closedByServer() {
        return closedByServer.get();
    }

    private void loop() {
        ByteBuffer sink = ByteBuffer.allocate(16 * 1024);
        while (!stopped) {
            try {
                for (Object[] p; (p = pending.poll()) != null; ) {
                    ((SocketChannel) p[0]).register(selector, SelectionKey.OP_READ, p[1]);
                }
                selector.select(100);
                for (SelectionKey k : selector.selectedKeys()) {
                    SocketChannel ch = (SocketChannel) k.channel();
                    Conn c = (Conn) k.attachment();
                    int r;
                    try {
                        sink.clear();
                        r = ch.read(sink);
                    } catch (IOException e) {
                        r = -1;
                    }
                    if (r > 0 && !c.answered) {
                        c.answered = true;
                        c.sourceFlights.incrementAndGet();
                        answered.incrementAndGet();
                    }
                    if (r < 0) {
                        k.cancel();
                        ch.close();
                        open.decrementAndGet();
                        closedByServer.incrementAndGet();
                    }
                }
                selector.selectedKeys().clear();
            } catch (IOException | ClosedSelectorException e) {
                return;
            }
        }
    }

    @Override
    public void close() throws IOException {
        stopped = true;
        selector.wakeup();
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (SelectionKey k : selector.keys()) {
            k.channel().close();
        }
        for (Object[] p; (p = pending.poll()) != null; ) {
            ((SocketChannel) p[0]).close();
        }
        selector.close();
    }
}
