package org.tlsjail.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.JailConfig;

/**
 * The /metrics endpoint against clients that send half a request and hang, trickle one byte per
 * second (slowloris), or close early in every way: scrapes keep answering at once, and every
 * descriptor is given back.
 */
class MetricsEndpointTest {
    /** A scrape must answer within this although the server's own timeouts are a minute. */
    private static final long SCRAPE_BOUND_MILLIS = 10_000;
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private final List<Socket> clients = new ArrayList<>();
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private DaemonMetrics metrics;

    @AfterEach
    void tearDown() {
        pool.shutdownNow();
        clients.forEach(MetricsEndpointTest::closeQuietly);
        if (metrics != null) {
            metrics.close();
        }
    }

    private DaemonMetrics serve(MetricsHttpServer.Limits limits) throws IOException {
        metrics = new DaemonMetrics(new BanEngine(JailConfig.defaults(), InstantSource.system()), () -> 0);
        metrics.serve(new InetSocketAddress(LOOPBACK, 0), limits);
        return metrics;
    }

    private Socket connect() throws IOException {
        Socket s = new Socket(LOOPBACK, metrics.port());
        synchronized (clients) {
            clients.add(s);
        }
        return s;
    }

    /** One scrape; returns the response, failing if it takes longer than the bound. */
    private String scrape() throws IOException {
        try (Socket s = new Socket(LOOPBACK, metrics.port())) {
            s.setSoTimeout((int) SCRAPE_BOUND_MILLIS);
            s.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static long openFds() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    @Test
    void halfOpenSlowAndEarlyClosingClientsNeitherBlockScrapesNorLeakDescriptors() throws Exception {
        // the server's own timeouts are long: scrapes must not be answered *because* the attackers timed out
        serve(new MetricsHttpServer.Limits(Duration.ofMinutes(1), Duration.ofMinutes(1), 32, 8192));
        assertThat(scrape()).startsWith("HTTP/1.1 200 OK").contains("tlsjail_bans_total 0.0");
        long baseline = openFds();

        // 12 clients with half a request, hanging
        for (int i = 0; i < 12; i++) {
            connect().getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        // 4 slowloris clients: one byte per second, for as long as the test runs
        AtomicBoolean trickling = new AtomicBoolean(true);
        for (int i = 0; i < 4; i++) {
            Socket s = connect();
            pool.submit(() -> {
                byte[] req = "GET /metrics HTTP/1.1\r\nHost: slow\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII);
                OutputStream out = s.getOutputStream();
                for (int b = 0; b < req.length - 2 && trickling.get(); b++) {
                    out.write(req[b]);
                    Thread.sleep(1000);
                }
                return null;
            });
        }
        // early closers of every kind, in a loop alongside the scrapes
        Future<?> closers = pool.submit(() -> {
            for (int i = 0; i < 30; i++) {
                try (Socket s = new Socket(LOOPBACK, metrics.port())) {
                    switch (i % 4) {
                        case 0 -> { } // connect and close
                        case 1 -> s.getOutputStream().write("GET /met".getBytes(StandardCharsets.US_ASCII));
                        case 2 -> s.getOutputStream().write("GET /metrics HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                        default -> s.setSoLinger(true, 0); // reset instead of FIN
                    }
                }
            }
            return null;
        });
        // 8 scrapers x 4 scrapes in parallel with all of the above
        List<Future<Long>> scrapers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            scrapers.add(pool.submit(() -> {
                long worst = 0;
                for (int k = 0; k < 4; k++) {
                    long t0 = System.nanoTime();
                    String r = scrape();
                    worst = Math.max(worst, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
                    assertThat(r).startsWith("HTTP/1.1 200 OK").contains("tlsjail_active_bans 0.0");
                }
                return worst;
            }));
        }
        closers.get(60, TimeUnit.SECONDS);
        for (Future<Long> f : scrapers) {
            assertThat(f.get(60, TimeUnit.SECONDS)).isLessThan(SCRAPE_BOUND_MILLIS);
        }
        // more hanging clients than the bound of 32: the oldest are closed, scrapes still answered
        for (int i = 0; i < 40; i++) {
            connect().getOutputStream().write('G');
        }
        assertThat(scrape()).startsWith("HTTP/1.1 200 OK");
        assertThat(metrics.server().openConnections()).isLessThanOrEqualTo(32);
        // a client that sends a request and never reads cannot block the next scrape either
        Socket nonReader = connect();
        nonReader.getOutputStream().write("GET /metrics HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(scrape()).startsWith("HTTP/1.1 200 OK");

        trickling.set(false);
        synchronized (clients) {
            clients.forEach(MetricsEndpointTest::closeQuietly);
        }
        awaitTrue("server connections back to 0", () -> metrics.server().openConnections() == 0);
        awaitTrue("descriptors back to the baseline " + baseline, () -> openFds() <= baseline);
    }

    @Test
    void clientsThatNeverCloseAreCutByTheRequestAndIdleTimeouts() throws Exception {
        serve(new MetricsHttpServer.Limits(Duration.ofSeconds(2), Duration.ofMillis(500), 32, 8192));
        List<Socket> hangers = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            Socket s = connect();
            s.getOutputStream().write("GET /metrics HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
            hangers.add(s);
        }
        Socket trickler = connect(); // never idle for 500 ms, but the request deadline (2 s) still ends it
        Future<?> trickle = pool.submit(() -> {
            OutputStream out = trickler.getOutputStream();
            for (int i = 0; i < 100; i++) {
                out.write('X');
                Thread.sleep(100);
            }
            return null;
        });
        for (Socket s : hangers) {
            s.setSoTimeout(30_000);
            assertThat(s.getInputStream().read()).as("server closed the silent client").isEqualTo(-1);
        }
        trickler.setSoTimeout(30_000);
        InputStream in = trickler.getInputStream();
        assertThat(in.read()).as("server closed the trickling client").isEqualTo(-1);
        awaitTrue("server connections back to 0", () -> metrics.server().openConnections() == 0);
        trickle.cancel(true);
        assertThat(scrape()).startsWith("HTTP/1.1 200 OK");
    }

    @Test
    void answersOnlyGetAndHeadOfMetricsAndBoundsTheRequestHead() throws Exception {
        serve(MetricsHttpServer.Limits.DEFAULT);
        assertThat(raw("POST /metrics HTTP/1.1\r\n\r\n")).startsWith("HTTP/1.1 405 ");
        assertThat(raw("GET /other HTTP/1.1\r\n\r\n")).startsWith("HTTP/1.1 404 ");
        assertThat(raw("garbage\r\n\r\n")).startsWith("HTTP/1.1 400 ");
        assertThat(raw("HEAD /metrics HTTP/1.0\r\n\r\n")).startsWith("HTTP/1.1 200 OK").doesNotContain("tlsjail_bans_total");
        assertThat(raw("GET /metrics?name[]=x HTTP/1.1\r\n" + "X: y\r\n".repeat(2000) + "\r\n"))
                .startsWith("HTTP/1.1 431 ");
    }

    private String raw(String request) throws IOException {
        try (Socket s = new Socket(LOOPBACK, metrics.port())) {
            s.setSoTimeout(30_000);
            try {
                s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            } catch (IOException e) {
                // a head past the bound is answered and closed while we still send: read what came
            }
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    interface Check {
        boolean ok() throws Exception;
    }

    private static void awaitTrue(String what, Check c) {
        org.tlsjail.testing.Await.until(what, Duration.ofSeconds(30), () -> {
            try {
                return c.ok();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // test cleanup
        }
    }
}
