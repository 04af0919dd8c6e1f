package org.tlsjail.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.testing.RealPeer;

/**
 * Issue 10, item 1: one source opening many connections in parallel gets at most maxretry server
 * flights (and failures) per window, not one per connection, and not the per-source cap of
 * unfinished handshakes: the attacker's trick is to have all its ClientHellos in before the
 * server has judged the first one. The per-source cap is set far above maxretry here so that it
 * cannot be what holds the line.
 */
class ExactMaxRetryTest {
    private static final int MAX_RETRY = 3;
    private static final int PARALLEL = 20;

    @TempDir
    Path dir;

    private HostileServer server() throws Exception {
        return new HostileServer(dir, JailConfig.builder().maxRetry(MAX_RETRY).build(), b -> b
                .handshakeTimeout(Duration.ofSeconds(5)).maxHandshakesPerSource(32));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-tls1_3", "-tls1_2"})
    void oneIpv4SourceInParallelGetsMaxretryServerFlights(String protocol) throws Exception {
        byte[] hello = ClientHellos.capture(protocol);
        InetAddress source = Sources.of(71, protocol.endsWith("3") ? 1 : 2);
        try (HostileServer s = server()) {
            ParallelHellos.Result r = ParallelHellos.run(s.address(), List.of(source), PARALLEL, hello, 15_000);
            assertThat(s.log.flush(Duration.ofSeconds(10))).isTrue();
            long lines = linesFor(s, source);
            System.out.printf("hostile: exact maxretry (%s, raw): %d parallel connections from %s: %d server flights,"
                    + " %d alerts, %d cut; %d Fail2Ban lines; %s%n", protocol, PARALLEL, source.getHostAddress(),
                    r.flights(), r.alerts(), r.cut(), lines, s.listener.stats());
            assertThat(r.flights()).as("server flights").isEqualTo(MAX_RETRY);
            assertThat(lines).as("failures logged").isEqualTo(MAX_RETRY);
            assertThat(s.engine.isBanned(source)).isTrue();
        }
    }

    /** The same attack with the real client: openssl s_client without a certificate, all at once. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-tls1_3", "-tls1_2"})
    void opensslClientsInParallelFromOneSourceGetMaxretryServerFlights(String protocol) throws Exception {
        RealPeer.require(onPath("openssl"), "openssl (Debian package openssl)");
        int parallel = 12;
        InetAddress source = Sources.of(72, protocol.endsWith("3") ? 1 : 2);
        try (HostileServer s = server()) {
            List<Process> clients = new ArrayList<>();
            List<Path> outputs = new ArrayList<>();
            for (int i = 0; i < parallel; i++) {
                Path out = dir.resolve("s_client-" + i + ".txt");
                outputs.add(out);
                clients.add(new ProcessBuilder("openssl", "s_client", protocol, "-bind", source.getHostAddress() + ":0",
                        "-connect", "127.0.0.1:" + s.address().getPort(), "-servername", "localhost")
                        .redirectErrorStream(true).redirectOutput(out.toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start());
            }
            for (Process p : clients) {
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
            int flights = 0;
            for (Path out : outputs) {
                if (Files.readString(out, StandardCharsets.ISO_8859_1).contains("-----BEGIN CERTIFICATE-----")) {
                    flights++;
                }
            }
            assertThat(s.log.flush(Duration.ofSeconds(10))).isTrue();
            long lines = linesFor(s, source);
            System.out.printf("hostile: exact maxretry (%s, openssl s_client): %d in parallel from %s: %d saw the server"
                    + " certificate; %d Fail2Ban lines; %s%n", protocol, parallel, source.getHostAddress(), flights, lines,
                    s.listener.stats());
            assertThat(flights).as("server flights (server certificate seen)").isBetween(1, MAX_RETRY);
            assertThat(lines).as("failures logged").isBetween(1L, (long) MAX_RETRY);
        }
    }

    static boolean onPath(String program) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, program))) {
                return true;
            }
        }
        return false;
    }

    static long linesFor(HostileServer s, InetAddress source) throws Exception {
        try (var lines = Files.lines(s.logFile(), StandardCharsets.US_ASCII)) {
            return lines.filter(l -> l.contains("from " + source.getHostAddress() + " ")
                    || l.contains("from " + source.getHostAddress() + ":")).count();
        }
    }
}
