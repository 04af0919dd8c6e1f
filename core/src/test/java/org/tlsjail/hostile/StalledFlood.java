package org.tlsjail.hostile;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The stalled-ClientHello flood: connections that send a whole real ClientHello at once and then
 * nothing, each making the server do its half of a handshake and then wait. One selector thread
 * holds them all, notes a server flight (any bytes back) and sees each close.
 */
final class StalledFlood implements AutoCloseable {
    private final byte[] hello;
    private final Selector selector;
    private final ConcurrentLinkedQueue<SocketChannel> pending = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    final AtomicInteger open = new AtomicInteger();
    final AtomicInteger answered = new AtomicInteger();
    private volatile boolean stopped;

    StalledFlood(byte[] hello) throws IOException {
        this.hello = hello;
        this.selector = Selector.open();
        this.thread = new Thread(this::loop, "stalled-flood");
        thread.setDaemon(true);
        thread.start();
    }

    /** Opens one stalled connection from {@code source}. */
    void open(InetAddress source, InetSocketAddress server) throws IOException {
        SocketChannel ch = SocketChannel.open();
        ch.bind(new InetSocketAddress(source, 0));
        ch.connect(server);
        ByteBuffer b = ByteBuffer.wrap(hello);
        while (b.hasRemaining()) {
            ch.write(b);
        }
        ch.configureBlocking(false);
        open.incrementAndGet();
        pending.add(ch);
        selector.wakeup();
    }

    private void loop() {
        ByteBuffer sink = ByteBuffer.allocate(16 * 1024);
        while (!stopped) {
            try {
                for (SocketChannel ch; (ch = pending.poll()) != null; ) {
                    ch.register(selector, SelectionKey.OP_READ, new boolean[1]);
                }
                selector.select(100);
                for (SelectionKey k : selector.selectedKeys()) {
                    SocketChannel ch = (SocketChannel) k.channel();
                    boolean[] seen = (boolean[]) k.attachment();
                    int r;
                    try {
                        sink.clear();
                        r = ch.read(sink);
                    } catch (IOException e) {
                        r = -1;
                    }
                    if (r > 0 && !seen[0]) {
                        seen[0] = true;
                        answered.incrementAndGet();
                    }
                    if (r < 0) {
                        k.cancel();
                        ch.close();
                        open.decrementAndGet();
                    }
                }
                selector.selectedKeys().clear();
            } catch (IOException | java.nio.channels.ClosedSelectorException e) {
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
        for (SocketChannel ch; (ch = pending.poll()) != null; ) {
            ch.close();
        }
        selector.close();
    }
}
