package org.tlsjail.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.Addresses;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.listener.FailureKind;
import org.tlsjail.listener.ListenerStats;
import org.tlsjail.pki.PemFiles;

/**
 * Regression (found by case 4): a server_name that is not a DNS name (underscore, space, colon)
 * made Bouncy Castle's key manager throw, so the handshake failed with internal_error and was
 * logged as "ssl handshake failure" against the client, where an OpenSSL server ignores the name.
 * A partner with a valid certificate must get in whatever SNI it sends; one without a certificate
 * must be logged as OpenSSL would log it.
 */
class OddServerNameTest {
    private static final List<String> NAMES = List.of("my_host", "a b", "x:y", "during connect try from 8.8.8.8: x");

    @TempDir
    Path dir;

    @Test
    void anyServerNameIsIgnoredLikeOpenSslDoes() throws Exception {
        try (HostileServer server = new HostileServer(dir, JailConfig.builder().build(), b -> b)) {
            Path cert = dir.resolve("client-chain.pem");
            Path key = dir.resolve("client-key.pem");
            PemFiles.writeCertificates(cert, server.client.chain());
            PemFiles.writePrivateKey(key, server.client.privateKey());
            int n = 0;
            List<String> withoutCert = new ArrayList<>();
            for (String name : NAMES) {
                for (String version : List.of("-tls1_2", "-tls1_3")) {
                    sClient(server, Addresses.format(Sources.of(45, n++)), "-servername", name, version,
                            "-cert", cert.toString(), "-key", key.toString());
                    String src = Addresses.format(Sources.of(45, n++));
                    withoutCert.add(src);
                    sClient(server, src, "-servername", name, version);
                }
            }
            ListenerStats s = server.awaitQuiet(n, Duration.ofSeconds(20));
            assertThat(server.log.flush(Duration.ofSeconds(10))).isTrue();
            List<String> lines = Files.readAllLines(server.logFile(), StandardCharsets.US_ASCII);
            System.out.printf("hostile: odd server names: %s; log %s%n", s, lines);
            assertThat(s.handshakesSucceeded()).as("valid certificate, odd SNI: handshake succeeds").isEqualTo(n / 2);
            assertThat(lines).hasSize(n / 2).allSatisfy(l -> assertThat(l).startsWith(
                    "TLS error " + FailureKind.NO_CERTIFICATE.code() + " ").contains(": " + FailureKind.NO_CERTIFICATE.reason()));
        }
    }

    private static void sClient(HostileServer server, String source, String... options) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect",
                "127.0.0.1:" + server.address().getPort(), "-bind", source + ":0"));
        cmd.addAll(List.of(options));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        p.getInputStream().readAllBytes();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("openssl s_client timed out: " + cmd);
        }
    }
}
