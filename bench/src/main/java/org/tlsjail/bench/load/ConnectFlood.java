package org.tlsjail.bench.load;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * Plain TCP connections as fast as a few threads can make them, each from the next source in
 * turn: connect, wait for the server to close (FIN or RST), close with RST (no TIME_WAIT on the
 * client side). Nothing is ever sent. Runs until {@link #stop()}.
 */
public final class ConnectFlood implements AutoCloseable {
    private final InetSocketAddress target;
    private final LoopbackSources sources;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final LongAdder connections = new LongAdder();
    private final LongAdder bytesReceived = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final List<Thread> threads = new ArrayList<>();
    private volatile String firstError;

    public ConnectFlood(InetSocketAddress target, LoopbackSources sources, int threadCount) {
        this.target = target;
        this.sources = sources;
        for (int i = 0; i < threadCount; i++) {
            Thread t = new Thread(this::loop, "connect-flood-" + i);
            t.setDaemon(true);
            threads.add(t);
        }
    }

    public ConnectFlood start() {
        threads.forEach(Thread::start);
        return this;
    }

    /** Connections completed (the server closed them) so far. */
    public long connections() {
        return connections.sum();
    }

    /** Bytes the server sent to the flood: a refused source must get none. */
    public long bytesReceived() {
        return bytesReceived.sum();
    }

    public long errors() {
        return errors.sum();
    }

    /** The first error seen, for the report; null if none. */
    public String firstError() {
        return firstError;
    }

    public void stop() throws InterruptedException {
        running.set(false);
        for (Thread t : threads) {
            t.join(15_000);
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }

    private void loop() {
        byte[] buf = new byte[256];
        while (running.get()) {
            boolean connected = false;
            try (Socket s = new Socket()) {
                s.setSoLinger(true, 0);
                s.bind(new InetSocketAddress(sources.next(), 0));
                s.connect(target, 5_000);
                connected = true;
                s.setSoTimeout(10_000);
                int r;
                while ((r = s.getInputStream().read(buf)) >= 0) {
                    bytesReceived.add(r);
                }
            } catch (IOException e) {
                // a reset, wherever it surfaces (even in connect(): on loopback the server's RST
                // can land before this thread returns from connect), is the server's refusal
                boolean reset = e instanceof java.net.SocketException && String.valueOf(e.getMessage()).contains("reset");
                if (!connected && !reset) {
                    errors.increment();
                    if (firstError == null) {
                        firstError = e.toString();
                    }
                    continue;
                }
            }
            connections.increment();
        }
    }
}
