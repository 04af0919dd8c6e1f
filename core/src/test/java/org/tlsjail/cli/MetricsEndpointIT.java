package org.tlsjail.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.testing.Await;

/**
 * The daemon's /metrics (bin/tlsjail, metrics.listen) against half-open, slow and early-closing
 * clients: scrapes answer meanwhile, and the daemon's descriptors (/proc/PID/fd) return to their
 * count once the clients are gone, or once its timeouts have cut the ones that never go.
 */
class MetricsEndpointIT {
    @TempDir
    Path work;

    @Test
    void withPortZeroStatusNamesTheBoundMetricsPort() throws Exception {
        Path cfg = work.resolve("tlsjail.yaml");
        Files.writeString(cfg, "state-dir: state\nlisten: {port: 0}\nmetrics: {listen: \"127.0.0.1:0\"}\n");
        try (Dist.Daemon d = Dist.start(work, work.resolve("state"), "--config", cfg.toString())) {
            Dist.Result status = Dist.tlsjail(work, "status", "--config", cfg.toString());
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("metrics: +http://127\\.0\\.0\\.1:(\\d+)/metrics")
                    .matcher(status.out());
            assertThat(m.find()).as(status.all()).isTrue();
            int bound = Integer.parseInt(m.group(1));
            assertThat(bound).isPositive();
            assertThat(scrape(bound)).startsWith("HTTP/1.1 200 OK");
        }
    }

    @Test
    void hangingAndEarlyClosingClientsNeitherBlockScrapesNorLeakTheDaemonsDescriptors() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        Path cfg = work.resolve("tlsjail.yaml");
        Files.writeString(cfg, "state-dir: state\nlisten: {port: 0}\nmetrics: {listen: \"127.0.0.1:" + port + "\"}\n");
        try (Dist.Daemon d = Dist.start(work, work.resolve("state"), "--config", cfg.toString())) {
            Path fds = Path.of("/proc", Long.toString(d.process.pid()), "fd");
            assertThat(scrape(port)).startsWith("HTTP/1.1 200 OK").contains("tlsjail_bans_total 0.0");
            long baseline = count(fds);

            List<Socket> hanging = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
                s.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
                hanging.add(s);
            }
            for (int i = 0; i < 40; i++) {
                try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                    if (i % 2 == 0) {
                        s.setSoLinger(true, 0);
                    } else {
                        s.getOutputStream().write("GET /metrics HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    }
                }
            }
            for (int i = 0; i < 5; i++) {
                assertThat(scrape(port)).startsWith("HTTP/1.1 200 OK");
            }
            // the 12 never close: the daemon cuts them (silent for 5 s while sending a request head) and gives back every descriptor
            for (Socket s : hanging) {
                s.setSoTimeout(60_000);
                assertThat(s.getInputStream().read()).isEqualTo(-1);
                s.close();
            }
            Await.until("daemon descriptors back to " + baseline, Duration.ofSeconds(30), () -> count(fds) <= baseline,
                    () -> "now " + count(fds));
            assertThat(scrape(port)).startsWith("HTTP/1.1 200 OK");
        }
    }

    private static String scrape(int port) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static long count(Path fds) {
        try (var s = Files.list(fds)) {
            return s.count();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
