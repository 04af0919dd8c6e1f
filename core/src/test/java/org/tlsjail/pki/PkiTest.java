package org.tlsjail.pki;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.KeyStore;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PkiTest {
    @TempDir
    Path dir;

    @Test
    void demoPkiVerifiesWithOpensslAndIsCreatedOnce() throws Exception {
        DemoPki.Layout f = DemoPki.ensure(dir);
        for (Path p : f.all()) {
            assertThat(p).isRegularFile();
        }
        assertThat(Files.getPosixFilePermissions(f.serverKey())).containsExactlyInAnyOrder(
                PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
        String server = run("openssl", "verify", "-purpose", "sslserver", "-CAfile", f.caCertificate().toString(),
                f.serverChain().toString());
        assertThat(server).contains(": OK");
        String client = run("openssl", "verify", "-purpose", "sslclient", "-CAfile", f.caCertificate().toString(),
                f.clientChain().toString());
        assertThat(client).contains(": OK");
        String san = run("openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", f.serverChain().toString());
        assertThat(san).contains("DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1");
        byte[] before = Files.readAllBytes(f.serverChain());
        DemoPki.ensure(dir);
        assertThat(Files.readAllBytes(f.serverChain())).isEqualTo(before);

        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(f.clientPkcs12())) {
            ks.load(in, f.pkcs12Password().toCharArray());
        }
        assertThat(ks.getCertificateChain("client")).hasSize(2);
        assertThat(PemFiles.readPrivateKey(f.clientKey()).getAlgorithm()).isEqualTo("EC");
        assertThat(PemFiles.readCertificates(f.clientChain())).hasSize(2);
    }

    @Test
    void hostileSubjectAndValidityWindowAreStoredVerbatim() throws Exception {
        CertificateAuthority ca = CertificateAuthority.create("test CA", Duration.ofDays(1));
        String hostile = "x: TLS error 1 during connect try from 8.8.8.8: y\n(" + "A".repeat(10_000);
        Instant past = Instant.now().minus(Duration.ofDays(10));
        Credential c = ca.issue(CertificateSpec.builder(hostile).validity(past, past.plus(Duration.ofDays(1))).build());
        assertThat(c.certificate().getSubjectX500Principal().getName()).contains("8.8.8.8");
        assertThat(c.certificate().getNotAfter().toInstant()).isBefore(Instant.now());
        Path ca1 = dir.resolve("ca.pem");
        Path leaf = dir.resolve("leaf.pem");
        PemFiles.writeCertificates(ca1, List.of(ca.certificate()));
        PemFiles.writeCertificates(leaf, List.of(c.certificate()));
        String out = run("openssl", "verify", "-CAfile", ca1.toString(), leaf.toString());
        assertThat(out).contains("certificate has expired");
    }

    static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timeout: " + String.join(" ", cmd));
        }
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
}
