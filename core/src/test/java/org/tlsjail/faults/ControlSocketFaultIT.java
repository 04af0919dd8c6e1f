package org.tlsjail.faults;

import org.tlsjail.testing.RealPeer;
import org.tlsjail.testing.Await;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;
import jnr.unixsocket.UnixSocketOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.tlsjail.testing.Distribution;
import org.tlsjail.pki.PemFiles;

/**
 * Case 8: the control socket of a real daemon ({@code bin/tlsjail run}) under hostile use: a
 * non-owner (uid 65534 through setpriv) is refused, both by the socket's permissions and, where an
 * operator opened those, by the daemon's peer-credential check; garbage, a huge request and
 * half-written requests are rejected, and all the while the daemon answers {@code tlsjail status}
 * and a partner's mutual-TLS session with the demo client certificate is greeted.
 */
class ControlSocketFaultIT {
    private static final int NOBODY = 65534;

    private Path work;
    private Path config;
    private Path state;
    private Process daemon;
    private int port;
    private SSLContext partner;

    @BeforeEach
    void startDaemon() throws Exception {
        Path launcher = Distribution.launcher();
        // not @TempDir (0700): uid 65534 must be able to reach the config and, in one step, the socket
        work = Files.createTempDirectory("tlsjail-control-faults");
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        state = work.resolve("state");
        config = work.resolve("tlsjail.yaml");
        Files.writeString(config, "state-dir: state\nlisten: {address: 127.0.0.1, port: 0}\n");
        Files.setPosixFilePermissions(config, PosixFilePermissions.fromString("rw-r--r--"));
        daemon = new ProcessBuilder(launcher.toString(), "run", "--config", config.toString()).directory(work.toFile())
                .redirectOutput(work.resolve("daemon.out").toFile()).redirectError(work.resolve("daemon.err").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        Path portFile = state.resolve("tlsjail.port");
        Await.until("the daemon's port file", java.time.Duration.ofSeconds(120), () -> {
            try {
                return !daemon.isAlive() || (Files.exists(portFile) && !Files.readString(portFile).isBlank());
            } catch (IOException e) {
                return false;
            }
        });
        assertThat(daemon.isAlive()).as("daemon running: " + Files.readString(work.resolve("daemon.err"))).isTrue();
        port = Integer.parseInt(Files.readString(portFile).strip());
        partner = demoPartner(state.resolve("demo-pki"));
    }

    @AfterEach
    void stopDaemon() throws Exception {
        try {
            if (daemon != null && daemon.isAlive()) {
                daemon.destroy();
                if (!daemon.waitFor(30, TimeUnit.SECONDS)) {
                    daemon.destroyForcibly();
                }
            }
        } finally {
            if (work != null) {
                try (Stream<Path> s = Files.walk(work)) {
                    s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                }
            }
        }
    }

    private Path socket() {
        return state.resolve("control.sock");
    }

    private static SSLContext demoPartner(Path demo) throws Exception {
        List<X509Certificate> chain = PemFiles.readCertificates(demo.resolve("client-chain.pem"));
        char[] pw = "pw".toCharArray();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("client", PemFiles.readPrivateKey(demo.resolve("client-key.pem")), pw,
                chain.toArray(new X509Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, pw);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        int i = 0;
        for (X509Certificate ca : PemFiles.readCertificates(demo.resolve("ca.pem"))) {
            trust.setCertificateEntry("ca" + i++, ca);
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }

    /** A partner's session (handshake with the demo client certificate, greeting read); milliseconds. */
    private double partnerSession() throws Exception {
        long t0 = System.nanoTime();
        try (Socket raw = new Socket()) {
            raw.bind(new InetSocketAddress("127.8.0.2", 0));
            raw.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
            raw.setSoTimeout(10_000);
            try (SSLSocket ssl = (SSLSocket) partner.getSocketFactory().createSocket(raw, "localhost", port, true)) {
                ssl.startHandshake();
                byte[] hello = ssl.getInputStream().readNBytes(5);
                assertThat(new String(hello, StandardCharsets.US_ASCII)).isEqualTo("Hello");
            }
        }
        return (System.nanoTime() - t0) / 1e6;
    }

    /** {@code tlsjail status} through the real CLI; milliseconds. */
    private double status() throws Exception {
        long t0 = System.nanoTime();
        Distribution.Result r = Distribution.run(Distribution.command("status", "--config", config.toString()), 60, work);
        assertThat(r.exit()).as("tlsjail status: " + r.stdout() + r.stderr()).isZero();
        assertThat(r.stdout()).contains("active bans");
        return (System.nanoTime() - t0) / 1e6;
    }

    /** One raw request on the control socket; returns the reply (what arrived before the daemon closed). */
    private String raw(byte[] request) throws Exception {
        try (UnixSocketChannel ch = UnixSocketChannel.open(new UnixSocketAddress(socket().toFile()))) {
            ch.setOption(UnixSocketOptions.SO_RCVTIMEO, 15_000);
            Thread writer = new Thread(() -> {
                try {
                    ByteBuffer out = ByteBuffer.wrap(request);
                    while (out.hasRemaining()) {
                        if (ch.write(out) <= 0) {
                            break;
                        }
                    }
                } catch (IOException | RuntimeException expected) {
                    // the daemon stops reading a request it refused
                }
            }, "control-faults-writer");
            writer.start();
            ByteArrayOutputStream reply = new ByteArrayOutputStream();
            ByteBuffer in = ByteBuffer.allocate(4096);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (System.nanoTime() < deadline) {
                in.clear();
                int n;
                try {
                    n = ch.read(in);
                } catch (IOException e) {
                    break; // reset after the reply
                }
                if (n < 0) {
                    break;
                }
                reply.write(in.array(), 0, n);
            }
            writer.join(15_000);
            return reply.toString(StandardCharsets.UTF_8);
        }
    }

    private static Distribution.Result asNobody(List<String> cmd) throws Exception {
        List<String> full = new ArrayList<>(List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups"));
        full.addAll(cmd);
        return Distribution.run(full, 60, null);
    }

    private static final String PY_CLIENT = "import socket,sys\n"
            + "s=socket.socket(socket.AF_UNIX)\n"
            + "try:\n s.connect(sys.argv[1])\nexcept OSError as e:\n print('CONNECT', e.strerror); sys.exit(0)\n"
            + "try:\n s.sendall(sys.argv[2].encode()+b'\\n')\nexcept OSError:\n pass\n"
            + "r=b''\nwhile True:\n d=s.recv(65536)\n if not d: break\n r+=d\n"
            + "print(r.decode(), end='')\n";

    @Test
    void nonOwnerIsRefusedByThePermissionsAndByThePeerCheck() throws Exception {
        RealPeer.require(new ProcessBuilder("setpriv", "--version").start().waitFor() == 0, "setpriv (util-linux) missing");
        double before = status();

        // 1. as shipped: socket 0600 in a 0750 state dir, so uid 65534 cannot even connect
        Distribution.Result cli = asNobody(Distribution.command("status", "--config", config.toString()));
        assertThat(cli.exit()).as(cli.stdout() + cli.stderr()).isNotZero();
        assertThat(cli.stderr()).contains("permission denied").hasLineCount(1);
        Distribution.Result py = asNobody(List.of("/usr/bin/python3", "-c", PY_CLIENT, socket().toString(), "status"));
        assertThat(py.stdout()).as("exit " + py.exit() + ": " + py.stderr()).startsWith("CONNECT").containsIgnoringCase("permission denied");

        // 2. an operator opened the permissions: the daemon's own peer-credential check still refuses
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(socket(), PosixFilePermissions.fromString("rw-rw-rw-"));
        try {
            Distribution.Result ban = asNobody(Distribution.command("ban", "203.0.113.9", "--config", config.toString()));
            assertThat(ban.exit()).as(ban.stdout() + ban.stderr()).isEqualTo(1);
            assertThat(ban.stderr()).startsWith("tlsjail: permission denied").hasLineCount(1);
            Distribution.Result stop = asNobody(List.of("/usr/bin/python3", "-c", PY_CLIENT, socket().toString(), "stop"));
            assertThat(stop.stdout()).as(stop.stderr()).startsWith("ERR permission denied");
        } finally {
            Files.setPosixFilePermissions(socket(), PosixFilePermissions.fromString("rw-------"));
            Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-x---"));
        }
        assertThat(daemon.isAlive()).as("a refused stop did not stop the daemon").isTrue();
        Distribution.Result banned = Distribution.run(Distribution.command("banned", "--config", config.toString()), 60, work);
        assertThat(banned.stdout()).doesNotContain("203.0.113.9");
        double after = status();
        double session = partnerSession();
        System.out.printf("faults: control socket non-owner (uid %d): refused at connect (0600 socket), and with the"
                        + " permissions opened refused by the peer-credential check; status %.0f ms before / %.0f ms after,"
                        + " partner session %.1f ms%n", NOBODY, before, after, session);
    }

    @Test
    void garbageHugeAndHalfWrittenRequestsAreRejectedWhileTheDaemonServes() throws Exception {
        double statusBefore = status();
        double partnerBefore = partnerSession();
        List<String> replies = new ArrayList<>();

        byte[] junk = new byte[4096];
        new Random(7).nextBytes(junk);
        junk[junk.length - 1] = '\n';
        List<byte[]> garbage = List.of(junk,
                "status\u0000\n".getBytes(StandardCharsets.ISO_8859_1),
                "\u001b[2J\u001b]0;owned\u0007\n".getBytes(StandardCharsets.ISO_8859_1),
                "\n".getBytes(StandardCharsets.US_ASCII),
                "\r\n".getBytes(StandardCharsets.US_ASCII),
                "unknown-command\n".getBytes(StandardCharsets.US_ASCII),
                "ban 8.8.8.8 1h extra words here\n".getBytes(StandardCharsets.US_ASCII),
                "ban ../../../etc/passwd\n".getBytes(StandardCharsets.US_ASCII),
                "ban 127.0.0.1/0\n".getBytes(StandardCharsets.US_ASCII),
                "unban\u00a0127.0.0.1\n".getBytes(StandardCharsets.UTF_8),
                new byte[] {(byte) 0xc3, 0x28, '\n'});
        for (byte[] g : garbage) {
            String r = raw(g);
            replies.add(r.strip());
            assertThat(r).as("reply to garbage " + Arrays.toString(Arrays.copyOf(g, Math.min(g.length, 16))))
                    .startsWith("ERR ").hasLineCount(1);
            assertThat(r.substring(0, r.length() - 1).chars().filter(c -> c < 0x20 || c == 0x7f).count()).isZero();
        }
        assertThat(Distribution.run(Distribution.command("banned", "--config", config.toString()), 60, work).stdout())
                .doesNotContain("8.8.8.8").doesNotContain("0.0.0.0");

        // huge: 8 MB without a line end, and 8 MB whose first line is huge
        byte[] huge = new byte[8 << 20];
        Arrays.fill(huge, (byte) 'a');
        String hugeReply = raw(huge);
        assertThat(hugeReply).startsWith("ERR request too long");
        huge[huge.length - 1] = '\n';
        assertThat(raw(huge)).startsWith("ERR request too long");

        // half-written: connections that send half a request and hang, while status is asked for
        int halfWritten = 20;
        List<UnixSocketChannel> hanging = new ArrayList<>();
        double statusDuring;
        double partnerDuring;
        try {
            for (int i = 0; i < halfWritten; i++) {
                UnixSocketChannel ch = UnixSocketChannel.open(new UnixSocketAddress(socket().toFile()));
                ch.write(ByteBuffer.wrap("sta".getBytes(StandardCharsets.US_ASCII)));
                hanging.add(ch);
            }
            statusDuring = status();
            partnerDuring = partnerSession();
        } finally {
            for (UnixSocketChannel ch : hanging) {
                ch.close();
            }
        }
        double statusAfter = status();
        assertThat(daemon.isAlive()).isTrue();
        assertThat(Files.readString(work.resolve("daemon.err"))).doesNotContain("Exception");
        System.out.printf("faults: control socket: %d garbage requests -> %s; 8 MB requests -> %s; status with %d"
                        + " half-written connections hanging %.0f ms (before %.0f ms, after %.0f ms); partner session %.1f ms"
                        + " before / %.1f ms during%n", garbage.size(), replies.stream().distinct().toList(),
                hugeReply.strip(), halfWritten, statusDuring, statusBefore, statusAfter, partnerBefore, partnerDuring);
    }
}
