package org.tlsjail.hostile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.File;
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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.banengine.SourceKey;
import org.tlsjail.listener.ListenerStats;
import org.tlsjail.pki.PemFiles;
import org.tlsjail.testing.Await;
import org.tlsjail.testing.RealPeer;
import org.tlsjail.testing.StalledFlood;

/**
 * Issue 10, item 2, attacked end to end: the handshake table ({@code max-handshakes-total}) is
 * filled by many unproven 127.x sources opening {@code max-handshakes-per-source} connections each
 * in parallel, most sending a whole ClientHello and stalling, the rest half-open (connected, nothing
 * sent). Then a partner comes: one LISTED in the listener's {@code partners} (a CIDR, never a
 * handshake before) or one PROVEN (a handshake with a verified certificate within partner-window).
 * Every one of its handshakes completes (Bouncy Castle JSSE in parallel, {@code openssl s_client},
 * then BC JSSE and the JDK's SunJSSE one by one),
 * it is never in the Fail2Ban log, never counted, never banned; the flood holds exactly the places
 * outside the {@code partner-reserve} (and every one of the {@code max-unproven-handshakes} slots)
 * and a fresh unproven source is refused meanwhile. With no
 * reserve, the same partner is refused: the reserve is what lets it in.
 *
 * <p>The handshake timeout is minutes here so that nothing in the table times out while the test
 * runs: every state is awaited, never slept for.
 */
class PartnerReserveUnderFloodTest {
    private static final int MAX_RETRY = 3;
    private static final int PER_SOURCE = 8;
    /** Of each flooding source's PER_SOURCE connections, this many send a ClientHello; the rest stay silent. */
    private static final int HELLOS_PER_SOURCE = 6;
    private static final int TOTAL = 1024;
    private static final int RESERVE = 64;
    /** 160 x 8 = 1,280 connections for TOTAL - RESERVE = 960 places: the attacker over-fills the table. */
    private static final int FLOOD_SOURCES = 160;
    /** Handshakes past the ClientHello for all unproven sources together: the flood takes them all too. */
    private static final int MAX_UNPROVEN = 64;
    private static final Duration NO_TIMEOUT_IN_TEST = Duration.ofMinutes(5);
    private static final Duration AWAIT = Duration.ofSeconds(60);
    /** The partner's address, inside the listed range 127.0.7.0/24 and no attacker's. */
    private static final InetAddress PARTNER = address(127, 0, 7, 9);
    private static final InetAddress FRESH = address(127, 0, 8, 9);

    enum Partner { LISTED, PROVEN }

    @TempDir
    Path dir;

    private static HostileServer server(Path dir, Partner kind, int reserve) throws Exception {
        return new HostileServer(dir, JailConfig.builder().maxRetry(MAX_RETRY).build(), b -> b
                .handshakeTimeout(NO_TIMEOUT_IN_TEST).maxHandshakesPerSource(PER_SOURCE).maxHandshakesTotal(TOTAL)
                .partnerReserve(reserve).maxUnprovenHandshakes(MAX_UNPROVEN)
                .partners(kind == Partner.LISTED ? List.of(SourceKey.parse("127.0.7.0/24")) : List.of()));
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Partner.class)
    void partnerGetsEveryHandshakeWhileUnprovenSourcesHoldTheRestOfTheTable(Partner kind) throws Exception {
        RealPeer.require(ExactMaxRetryTest.onPath("openssl"), "openssl (Debian package openssl)");
        byte[] hello = ClientHellos.capture();
        int secondOctet = kind == Partner.LISTED ? 110 : 112;
        try (HostileServer s = server(dir, kind, RESERVE); StalledFlood flood = new StalledFlood(hello)) {
            long partnerHandshakes = 0;
            if (kind == Partner.PROVEN) {
                s.legitimateHandshake(PARTNER, 20_000); // proves itself before the flood
                partnerHandshakes++;
            }
            int cap = TOTAL - RESERVE;
            List<InetAddress> attackers = floodTable(s, flood, secondOctet, cap);
            Await.until("the flood in every unproven handshake slot, each flight seen", AWAIT,
                    () -> s.listener.stats().handshakesStarted() == MAX_UNPROVEN && flood.answered() == MAX_UNPROVEN,
                    () -> flood.answered() + " flights, " + s.listener.stats());

            // a fresh unproven source finds no place: the flood has everything but the reserve
            long refusedBefore = s.listener.stats().refusedOverLimit();
            assertThat(tryHello(FRESH, s.address(), hello)).as("a fresh source's reply").isNotEqualTo(22);
            Await.until("the fresh source refused", AWAIT, () -> s.listener.stats().refusedOverLimit() == refusedBefore + 1,
                    () -> s.listener.stats().toString());

            // the partner: PER_SOURCE handshakes at once (BC JSSE), then openssl s_client, then one by one
            List<String> errors = new ArrayList<>();
            partnerHandshakes += parallelHandshakes(s, PER_SOURCE, errors);
            Path cert = dir.resolve("partner.pem");
            Path key = dir.resolve("partner-key.pem");
            PemFiles.writeCertificates(cert, s.client.chain());
            PemFiles.writePrivateKey(key, s.client.privateKey());
            for (String protocol : List.of("-tls1_3", "-tls1_2")) {
                String out = opensslClient(s, protocol, cert, key);
                if (!out.contains("Verify return code: 0 (ok)") || !out.lines().anyMatch(l -> l.equals("K") || l.equals("Kclosed"))) {
                    errors.add("openssl s_client " + protocol + ": " + out);
                }
                partnerHandshakes++;
            }
            // one by one, on both client stacks: Bouncy Castle JSSE and the JDK's own SunJSSE
            javax.net.ssl.SSLContext sunJsse = s.sunJsseClientContext();
            for (int i = 0; i < 4; i++) {
                try {
                    s.legitimateHandshake(PARTNER, 20_000);
                    s.legitimateHandshake(PARTNER, 20_000, sunJsse);
                } catch (IOException e) {
                    errors.add(e.toString());
                }
                partnerHandshakes += 2;
            }
            long expected = partnerHandshakes;
            Await.until("the partner's handshakes settled", AWAIT, () -> s.listener.stats().handshakesSucceeded() == expected
                    && s.listener.stats().handshakesInProgress() == cap, () -> s.listener.stats().toString());
            assertThat(s.log.flush(Duration.ofSeconds(10))).isTrue();
            ListenerStats st = s.listener.stats();
            int maxFlights = attackers.stream().mapToInt(flood::flights).max().orElse(0);
            System.out.printf("hostile: partner reserve (%s partner): %d unproven sources x %d connections (%d with a"
                    + " stalled ClientHello, the rest half-open) for %d places (total %d, reserve %d): held %d, %d server"
                    + " flights (max %d per source); partner %d handshakes, errors %s; %s%n", kind, FLOOD_SOURCES,
                    PER_SOURCE, HELLOS_PER_SOURCE, cap, TOTAL, RESERVE, st.handshakesInProgress(), flood.answered(),
                    maxFlights, partnerHandshakes, errors, st);

            assertThat(errors).as("partner handshakes that failed").isEmpty();
            assertThat(st.handshakesSucceeded()).as("handshakes completed: the partner's, and no attacker's")
                    .isEqualTo(partnerHandshakes);
            assertThat(st.handshakesFailed()).as("failures counted meanwhile").isZero();
            assertThat(st.handshakesInProgress()).as("places the flood holds: never the reserve").isEqualTo(cap);
            assertThat(flood.openConnections()).as("the flood's connections still open").isEqualTo(cap);
            assertThat(maxFlights).as("server flights per attacking source").isLessThanOrEqualTo(MAX_RETRY);
            assertThat(st.handshakesStarted()).as("unproven handshakes past the ClientHello").isEqualTo(MAX_UNPROVEN);
            assertThat(ExactMaxRetryTest.linesFor(s, PARTNER)).as("partner lines in the Fail2Ban log").isZero();
            assertThat(s.logLines()).as("Fail2Ban log lines (nobody has failed yet)").isZero();
            assertThat(s.engine.failures(PARTNER)).as("failures counted for the partner").isZero();
            assertThat(s.engine.isBanned(PARTNER)).isFalse();
            assertThat(s.engine.failures(FRESH)).as("a refusal is nobody's failure").isZero();
        }
    }

    /** The control: no reserve, the same flood fills the whole table and the same partner is turned away. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(Partner.class)
    void withoutTheReserveTheFloodTakesEveryPlaceAndThePartnerIsRefused(Partner kind) throws Exception {
        byte[] hello = ClientHellos.capture();
        int secondOctet = kind == Partner.LISTED ? 114 : 116;
        try (HostileServer s = server(dir, kind, 0); StalledFlood flood = new StalledFlood(hello)) {
            if (kind == Partner.PROVEN) {
                s.legitimateHandshake(PARTNER, 20_000);
            }
            floodTable(s, flood, secondOctet, TOTAL);
            long refusedBefore = s.listener.stats().refusedOverLimit();
            assertThatThrownBy(() -> s.legitimateHandshake(PARTNER, 20_000)).as("the partner's handshake")
                    .isInstanceOf(IOException.class);
            Await.until("the partner refused", AWAIT, () -> s.listener.stats().refusedOverLimit() == refusedBefore + 1,
                    () -> s.listener.stats().toString());
            assertThat(s.listener.stats().handshakesInProgress()).isEqualTo(TOTAL);
            assertThat(s.log.flush(Duration.ofSeconds(10))).isTrue();
            assertThat(ExactMaxRetryTest.linesFor(s, PARTNER)).as("a refused partner is not logged").isZero();
            assertThat(s.engine.failures(PARTNER)).isZero();
        }
    }

    /**
     * The attacker fills the table: FLOOD_SOURCES sources, PER_SOURCE connections each, opened from
     * 16 threads at once; returns the attacking sources once the listener holds exactly
     * {@code places} of them and has reset every other.
     */
    private static List<InetAddress> floodTable(HostileServer s, StalledFlood flood, int secondOctet, int places)
            throws Exception {
        List<InetAddress> attackers = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(16);
        AtomicInteger resetEarly = new AtomicInteger();
        long acceptedBefore = s.listener.stats().accepted();
        try {
            List<Future<?>> opened = new ArrayList<>();
            for (int i = 0; i < FLOOD_SOURCES; i++) {
                InetAddress source = Sources.of(secondOctet, i);
                attackers.add(source);
                for (int c = 0; c < PER_SOURCE; c++) {
                    boolean sendHello = c < HELLOS_PER_SOURCE;
                    opened.add(pool.submit(() -> {
                        try {
                            if (sendHello) {
                                flood.open(source, s.address());
                            } else {
                                flood.openSilent(source, s.address());
                            }
                        } catch (IOException e) {
                            resetEarly.incrementAndGet(); // refused before its ClientHello was written
                        }
                        return null;
                    }));
                }
            }
            for (Future<?> f : opened) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        int attempts = FLOOD_SOURCES * PER_SOURCE;
        Await.until("the flood settled in the table", AWAIT, () -> {
            ListenerStats st = s.listener.stats();
            return st.accepted() - acceptedBefore == attempts && st.handshakesInProgress() == places
                    && flood.openConnections() == places;
        }, () -> s.listener.stats() + ", flood open " + flood.openConnections() + ", reset early " + resetEarly);
        return attackers;
    }

    /** {@code PER_SOURCE} partner handshakes at once; returns how many were made, failures into {@code errors}. */
    private static int parallelHandshakes(HostileServer s, int n, List<String> errors) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Long>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                results.add(pool.submit(() -> s.legitimateHandshake(PARTNER, 30_000)));
            }
            for (Future<Long> f : results) {
                try {
                    f.get(60, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    errors.add(e.getCause().toString());
                }
            }
        } finally {
            pool.shutdownNow();
        }
        return n;
    }

    /** The real client with the partner's certificate; returns its output (stdout and stderr). */
    private String opensslClient(HostileServer s, String protocol, Path cert, Path key) throws Exception {
        Path out = Files.createTempFile(dir, "s_client", ".txt");
        // -ign_eof: read until the server closes, so the application's 'K' is in the output (as "K",
        // or "Kclosed" when s_client notes the close on the same line)
        Process p = new ProcessBuilder("openssl", "s_client", protocol, "-bind", PARTNER.getHostAddress() + ":0",
                "-connect", "127.0.0.1:" + s.address().getPort(), "-servername", "localhost", "-cert", cert.toString(),
                "-key", key.toString(), "-CAfile", s.dir.resolve("ca.pem").toString(), "-verify_return_error", "-ign_eof")
                .redirectErrorStream(true).redirectOutput(out.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        return Files.readString(out, StandardCharsets.ISO_8859_1);
    }

    /** A raw ClientHello from {@code source}; returns the first byte back (22: a server flight), -1 on reset or EOF. */
    private static int tryHello(InetAddress source, InetSocketAddress server, byte[] hello) {
        try (Socket sock = new Socket()) {
            sock.bind(new InetSocketAddress(source, 0));
            sock.connect(server, 10_000);
            sock.setSoTimeout(30_000);
            OutputStream out = sock.getOutputStream();
            out.write(hello);
            out.flush();
            InputStream in = sock.getInputStream();
            return in.read();
        } catch (IOException e) {
            return -1;
        }
    }

    private static InetAddress address(int a, int b, int c, int d) {
        try {
            return InetAddress.getByAddress(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
