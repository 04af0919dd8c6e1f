package org.tlsjail.bench.load;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;

/**
 * The stalled-ClientHello flood: from each source, several connections that send a whole real
 * ClientHello at once and then nothing, so the server does its half of the handshake and waits.
 * One selector thread holds them all and counts, per source, the connections that received bytes
 * (a server flight) and sees each close.
 */
final class StalledFlood implements AutoCloseable {
    private final byte[] hello;
    private final Selector selector;
    private final ConcurrentLinkedQueue<Object[]> pending = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private final AtomicIntegerArray flights;
    final AtomicInteger open = new AtomicInteger();
    private volatile boolean stopped;

    StalledFlood(int sources) throws Exception {
        this.hello = clientHello();
        this.flights = new AtomicIntegerArray(sources);
        this.selector = Selector.open();
        this.thread = new Thread(this::loop, "stalled-flood");
        thread.setDaemon(true);
        thread.start();
    }

    /** Opens one stalled connection from source number {@code index}. */
    void open(int index, InetAddress source, InetSocketAddress server) throws IOException {
        SocketChannel ch = SocketChannel.open();
        ch.bind(new InetSocketAddress(source, 0));
        ch.connect(server);
        ByteBuffer b = ByteBuffer.wrap(hello);
        while (b.hasRemaining()) {
            ch.write(b);
        }
        ch.configureBlocking(false);
        open.incrementAndGet();
        pending.add(new Object[] {ch, index});
        selector.wakeup();
    }

    int flights(int index) {
        return flights.get(index);
    }

    private void loop() {
        ByteBuffer sink = ByteBuffer.allocate(16 * 1024);
        while (!stopped) {
            try {
                for (Object[] p; (p = pending.poll()) != null; ) {
                    ((SocketChannel) p[0]).register(selector, SelectionKey.OP_READ, new int[] {(Integer) p[1], 0});
                }
                selector.select(100);
                for (SelectionKey k : selector.selectedKeys()) {
                    SocketChannel ch = (SocketChannel) k.channel();
                    int[] state = (int[]) k.attachment();
                    int r;
                    try {
                        sink.clear();
                        r = ch.read(sink);
                    } catch (IOException e) {
                        r = -1;
                    }
                    if (r > 0 && state[1] == 0) {
                        state[1] = 1;
                        flights.incrementAndGet(state[0]);
                    }
                    if (r < 0) {
                        k.cancel();
                        ch.close();
                        open.decrementAndGet();
                    }
                }
                selector.selectedKeys().clear();
            } catch (IOException | ClosedSelectorException e) {
                return;
            }
        }
    }

    /** A real ClientHello record (the JDK's TLS client, no network). */
    private static byte[] clientHello() throws Exception {
        SSLEngine e = SSLContext.getDefault().createSSLEngine("localhost", 443);
        e.setUseClientMode(true);
        ByteBuffer out = ByteBuffer.allocate(e.getSession().getPacketBufferSize());
        e.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] b = new byte[out.remaining()];
        out.get(b);
        return b;
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
