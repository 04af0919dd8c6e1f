package org.tlsjail.hostile;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The parallel attacker: from each of {@code sources}, {@code perSource} connections at once, each
 * sending a real ClientHello and then waiting for the server. A connection that receives a
 * handshake record (type 22: the ServerHello that starts the server's flight) got a <em>server
 * flight</em>; it then hangs up, so the server counts a failure and the source may try again.
 * Anything else (an alert, an RST, EOF) is no flight.
 */
final class ParallelHellos {
    private ParallelHellos() {
    }

    record Result(int connections, int flights, int alerts, int cut) {
    }

    static Result run(InetSocketAddress server, List<InetAddress> sources, int perSource, byte[] hello, int timeoutMs)
            throws InterruptedException {
        List<Thread> threads = new ArrayList<>();
        AtomicInteger flights = new AtomicInteger();
        AtomicInteger alerts = new AtomicInteger();
        AtomicInteger cut = new AtomicInteger();
        CountDownLatch connected = new CountDownLatch(sources.size() * perSource);
        CountDownLatch go = new CountDownLatch(1);
        for (InetAddress source : sources) {
            for (int i = 0; i < perSource; i++) {
                Thread t = new Thread(() -> {
                    try (Socket s = new Socket()) {
                        try {
                            s.bind(new InetSocketAddress(source, 0));
                            s.connect(server, timeoutMs);
                            s.setSoTimeout(timeoutMs);
                        } finally {
                            connected.countDown();
                        }
                        go.await(); // all connected first: the server sees them all in parallel
                        OutputStream out = s.getOutputStream();
                        out.write(hello);
                        out.flush();
                        InputStream in = s.getInputStream();
                        int type = in.read();
                        if (type == 22) {
                            flights.incrementAndGet();
                        } else if (type == 21) {
                            alerts.incrementAndGet();
                        } else {
                            cut.incrementAndGet();
                        }
                    } catch (IOException e) {
                        cut.incrementAndGet();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }, "hello-" + source.getHostAddress() + "-" + i);
                t.setDaemon(true);
                threads.add(t);
                t.start();
            }
        }
        connected.await();
        go.countDown();
        for (Thread t : threads) {
            t.join(timeoutMs * 3L);
        }
        return new Result(threads.size(), flights.get(), alerts.get(), cut.get());
    }
}
