package org.tlsjail.pki;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * The demo PKI the daemon runs on out of the box: a CA, a server certificate for localhost,
 * 127.0.0.1 and ::1, and one client certificate, as PEM and PKCS#12. Created once; existing files
 * are reused, so restarting the daemon keeps the same certificates.
 */
public final class DemoPki {
    /** Password of the demo PKCS#12 files. A demo PKI is not a secret. */
    public static final String PASSWORD = "changeit";

    private DemoPki() {
    }

    /** Where the demo files are. */
    public record Layout(
            Path caCertificate,
            Path serverChain,
            Path serverKey,
            Path serverPkcs12,
            Path clientChain,
            Path clientKey,
            Path clientPkcs12,
            String pkcs12Password) {
        public List<Path> all() {
            return List.of(caCertificate, serverChain, serverKey, serverPkcs12, clientChain, clientKey, clientPkcs12);
        }
    }

    /** The file layout inside {@code dir} (nothing created). */
    public static Layout layout(Path dir) {
        return new Layout(dir.resolve("ca.pem"), dir.resolve("server-chain.pem"), dir.resolve("server-key.pem"),
                dir.resolve("server.p12"), dir.resolve("client-chain.pem"), dir.resolve("client-key.pem"),
                dir.resolve("client.p12"), PASSWORD);
    }

    /**
     * Creates the demo PKI in {@code dir} unless all its files already exist, and returns their
     * paths. If only some exist, all are recreated (a half-written PKI is useless).
     */
    public static synchronized Layout ensure(Path dir) throws IOException {
        Layout f = layout(dir);
        // a symbolic link planted in place of a file does not count: the PKI is recreated and the
        // rename replaces the link itself, never its target
        if (f.all().stream().allMatch(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS))) {
            return f;
        }
        Files.createDirectories(dir);
        Instant from = Instant.now().minus(Duration.ofHours(1));
        Instant until = from.plus(Duration.ofDays(3650));
        CertificateAuthority ca = CertificateAuthority.create("tlsjail demo CA", from, until);
        Credential server = ca.issue(CertificateSpec.builder("localhost")
                .organization("tlsjail demo")
                .dnsName("localhost")
                .ipAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}))
                .ipAddress(loopback6())
                .validity(from, until)
                .usage(CertificateSpec.Usage.SERVER)
                .build());
        Credential client = ca.issue(CertificateSpec.builder("tlsjail demo client")
                .organization("tlsjail demo")
                .validity(from, until)
                .usage(CertificateSpec.Usage.CLIENT)
                .build());
        PemFiles.writeCertificates(f.caCertificate(), List.of(ca.certificate()));
        PemFiles.writeCertificates(f.serverChain(), server.chain());
        PemFiles.writePrivateKey(f.serverKey(), server.privateKey());
        PemFiles.writePkcs12(f.serverPkcs12(), server, "server", PASSWORD.toCharArray());
        PemFiles.writeCertificates(f.clientChain(), client.chain());
        PemFiles.writePrivateKey(f.clientKey(), client.privateKey());
        PemFiles.writePkcs12(f.clientPkcs12(), client, "client", PASSWORD.toCharArray());
        return f;
    }

    private static InetAddress loopback6() throws IOException {
        byte[] b = new byte[16];
        b[15] = 1;
        return InetAddress.getByAddress(b);
    }
}
