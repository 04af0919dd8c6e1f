package org.tlsjail.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.tlsjail.cli.Dist.tlsjail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.testing.RealPeer;
import org.tlsjail.tls.OpenSslCa;

/**
 * Issue 14 item 10 through the built bin/tlsjail: {@code config check} reads the TLS files as
 * {@code run} would, so systemd's ExecStartPre stops a unit whose files are wrong; and {@code run}
 * exits 2 (RestartPreventExitStatus) on them, with the same one line, so the unit does not loop.
 */
class TlsMaterialCheckIT {
    @TempDir
    Path work;

    OpenSslCa ca;
    OpenSslCa.Issued server;
    OpenSslCa.Issued other;

    @BeforeEach
    void pki() throws Exception {
        RealPeer.require(OpenSslCa.installed("openssl"), "openssl is not installed (Debian package openssl)");
        ca = OpenSslCa.root(work, "Check Root");
        server = ca.server("localhost", "rsa:2048");
        other = ca.server("other", "rsa:2048");
    }

    private Path config(String tls) throws Exception {
        Path f = work.resolve("tlsjail.yaml");
        Files.writeString(f, "state-dir: state\nlisten: {port: 0}\ntls:\n" + tls);
        return f;
    }

    private String tls(Path key, Path cert, Path clientCa) {
        return "  key: " + key + "\n  cert: " + cert + "\n  client-ca: " + clientCa + "\n";
    }

    /** Both commands exit 2 with the same single line, which contains every fragment. */
    private void assertRefused(Path cfg, String... fragments) throws Exception {
        Dist.Result check = tlsjail(work, "config", "check", "--config", cfg.toString());
        assertThat(check.exit()).as(check.all()).isEqualTo(2);
        String line = Dist.errorLine(check);
        assertThat(check.err().strip()).isEqualTo(line);
        for (String f : fragments) {
            assertThat(line).contains(f);
        }
        Dist.Result run = tlsjail(work, "run", "--config", cfg.toString());
        assertThat(run.exit()).as(run.all()).isEqualTo(2);
        assertThat(Dist.errorLine(run)).isEqualTo(line);
    }

    @Test
    void goodFilesPass() throws Exception {
        Path cfg = config(tls(server.key(), server.cert(), ca.certificate()));
        Dist.Result check = tlsjail(work, "config", "check", "--config", cfg.toString());
        assertThat(check.exit()).as(check.all()).isZero();
        assertThat(check.out()).contains("OK");
    }

    @Test
    void missingKey() throws Exception {
        Path missing = work.resolve("missing.key");
        assertRefused(config(tls(missing, server.cert(), ca.certificate())), missing.toString(), "no such file");
    }

    @Test
    void unreadableCertificate() throws Exception {
        Path cert = work.resolve("unreadable.pem");
        if (Dist.isRoot()) {
            // root reads any file whatever its mode: a directory in the file's place is unreadable to everyone
            Files.createDirectory(cert);
        } else {
            Files.copy(server.cert(), cert);
            Files.setPosixFilePermissions(cert, PosixFilePermissions.fromString("---------"));
        }
        assertRefused(config(tls(server.key(), cert, ca.certificate())), cert.toString());
    }

    @Test
    void keyNotMatchingTheCertificate() throws Exception {
        assertRefused(config(tls(other.key(), server.cert(), ca.certificate())), other.key().toString(),
                "does not match", server.cert().toString());
    }

    @Test
    void keystoreWithTheWrongPassword() throws Exception {
        Path p12 = work.resolve("server.p12");
        OpenSslCa.openssl("pkcs12", "-export", "-in", server.cert().toString(), "-inkey", server.key().toString(),
                "-out", p12.toString(), "-passout", "pass:right");
        Path cfg = config("  keystore: " + p12 + "\n  keystore-password: wrong\n  client-ca: " + ca.certificate() + "\n");
        assertRefused(cfg, p12.toString(), "PKCS#12");
    }

    @Test
    void garbageCaBundle() throws Exception {
        Path garbage = work.resolve("garbage-ca.pem");
        Files.writeString(garbage, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
        assertRefused(config(tls(server.key(), server.cert(), garbage)), garbage.toString());
        Files.write(garbage, new byte[] {0, 1, 2, 3, (byte) 0xff, '\n', 'x'});
        assertRefused(config(tls(server.key(), server.cert(), garbage)), garbage.toString());
    }

    @Test
    void garbageAndForgedCrls() throws Exception {
        Path garbage = work.resolve("garbage.crl");
        Files.writeString(garbage, "-----BEGIN X509 CRL-----\nbm90IGEgQ1JM\n-----END X509 CRL-----\n");
        assertRefused(config(tls(server.key(), server.cert(), ca.certificate()) + "  crl: " + garbage + "\n"),
                "crl " + garbage, "not a PEM or DER CRL");
        // a CRL in the CA's name signed by another key (an impostor CA of the same name)
        OpenSslCa impostor = OpenSslCa.root(work.resolve("impostor"), "Check Root");
        Path forged = work.resolve("forged.crl");
        impostor.crl(forged, 7);
        assertRefused(config(tls(server.key(), server.cert(), ca.certificate()) + "  crl: " + forged + "\n"),
                "crl " + forged, "signature does not verify");
        Path missing = work.resolve("no-such.crl");
        assertRefused(config(tls(server.key(), server.cert(), ca.certificate()) + "  crl: " + missing + "\n"),
                missing.toString(), "no such file");
    }
}
