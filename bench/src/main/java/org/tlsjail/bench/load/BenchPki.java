package org.tlsjail.bench.load;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;

/**
 * A throw-away PKI for the load harness, made with the openssl command line so that
 * {@code openssl s_server} and the Java servers use the very same keys: a CA, a server
 * certificate and a client certificate (RSA 2048, the usual OFTP2 partner key), in PEM and
 * PKCS#12 (password {@value #PASSWORD}).
 */
public final class BenchPki {
    public static final String PASSWORD = "bench";

    private final Path dir;

    private BenchPki(Path dir) {
        this.dir = dir;
    }

    /** Creates the PKI in {@code dir} unless it is already there. */
    public static BenchPki createIn(Path dir) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        BenchPki pki = new BenchPki(dir);
        if (Files.exists(pki.clientP12())) {
            return pki;
        }
        Files.writeString(dir.resolve("ee.ext"), "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                + "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n");
        pki.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
                "-days", "3650", "-subj", "/CN=tlsjail bench CA");
        for (String who : List.of("server", "client")) {
            pki.openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", who + ".key", "-out", who + ".csr",
                    "-subj", "/CN=bench-" + who);
            pki.openssl("x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                    "-out", who + ".pem", "-days", "3650", "-extfile", "ee.ext");
            pki.openssl("pkcs12", "-export", "-in", who + ".pem", "-inkey", who + ".key", "-certfile", "ca.pem",
                    "-name", who, "-out", who + ".p12", "-passout", "pass:" + PASSWORD);
        }
        return pki;
    }

    public Path dir() {
        return dir;
    }

    public Path caPem() {
        return dir.resolve("ca.pem");
    }

    public Path serverPem() {
        return dir.resolve("server.pem");
    }

    public Path serverKey() {
        return dir.resolve("server.key");
    }

    public Path serverP12() {
        return dir.resolve("server.p12");
    }

    public Path clientP12() {
        return dir.resolve("client.p12");
    }

    public Path clientPem() {
        return dir.resolve("client.pem");
    }

    public Path clientKey() {
        return dir.resolve("client.key");
    }

    public KeyStore serverKeyStore() throws IOException, GeneralSecurityException {
        return load(serverP12());
    }

    public KeyStore clientKeyStore() throws IOException, GeneralSecurityException {
        return load(clientP12());
    }

    /** The CA as the only trusted certificate. */
    public KeyStore trustStore() throws IOException, GeneralSecurityException {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        try (InputStream in = Files.newInputStream(caPem())) {
            List<Certificate> certs = new ArrayList<>(CertificateFactory.getInstance("X.509").generateCertificates(in));
            ks.setCertificateEntry("ca", certs.get(0));
        }
        return ks;
    }

    private static KeyStore load(Path p12) throws IOException, GeneralSecurityException {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(p12)) {
            ks.load(in, PASSWORD.toCharArray());
        }
        return ks;
    }

    private void openssl(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add("openssl");
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
    }
}
