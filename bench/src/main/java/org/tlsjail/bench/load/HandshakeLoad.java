package org.tlsjail.bench.load;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@link HandshakeClient} attempts from a few threads until {@link #stop()}, each from the next
 * source, with an optional pause between attempts (a paced probe measures latency without adding
 * load of its own). Latency is measured for completed handshakes, connect to first reply byte.
 */
public final class HandshakeLoad implements AutoCloseable {
    private final HandshakeClient client;
    private final LoopbackSources sources;
    private final long pauseMillis;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final LongAdder completed = new LongAdder();
    private final LongAdder failedAfterCertificate = new LongAdder();
    private final LongAdder refused = new LongAdder();
    private final Latencies latencies = new Latencies();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean recording = true;

    public HandshakeLoad(HandshakeClient client, LoopbackSources sources, int threadCount, long pauseMillis) {
        this.client = client;
        this.sources = sources;
        this.pauseMillis = pauseMillis;
        for (int i = 0; i < threadCount; i++) {
            Thread t = new Thread(this::loop, "handshake-load-" + i);
            t.setDaemon(true);
            threads.add(t);
        }
    }

    public HandshakeLoad start() {
        threads.forEach(Thread::start);
        return this;
    }

    public long completed() {
        return completed.sum();
    }

    public long failedAfterCertificate() {
        return failedAfterCertificate.sum();
    }

    public long refused() {
        return refused.sum();
    }

    public Latencies latencies() {
        return latencies;
    }

    /** Resets counters and latencies (the end of a warm-up). */
    public HandshakeLoad reset() {
        recording = false;
        completed.reset();
        failedAfterCertificate.reset();
        refused.reset();
        latencies.clear();
        recording = true;
        return this;
    }

    public void stop() throws InterruptedException {
        running.set(false);
        for (Thread t : threads) {
            t.join(20_000);
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }

    private void loop() {
        Latencies mine = latencies;
        while (running.get()) {
            long t0 = System.nanoTime();
            HandshakeClient.Outcome o = client.attempt(sources.next());
            long took = System.nanoTime() - t0;
            switch (o) {
                case COMPLETED -> {
                    completed.increment();
                    if (recording) {
                        mine.add(took);
                    }
                }
                case FAILED_AFTER_SERVER_CERTIFICATE -> failedAfterCertificate.increment();
                case REFUSED -> refused.increment();
            }
            if (pauseMillis > 0) {
                try {
                    Thread.sleep(pauseMillis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }
}
