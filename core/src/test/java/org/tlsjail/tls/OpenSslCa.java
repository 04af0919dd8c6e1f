package org.tlsjail.tls;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A certificate authority run by the real {@code openssl} command line, as an operator's CA would
 * be: {@code openssl req} for the root, {@code openssl ca} for everything it signs, revokes
 * ({@code -revoke}) and publishes ({@code -gencrl}). Each instance has its own directory (index,
 * serial, CRL number).
 */
public final class OpenSslCa {
    private static final DateTimeFormatter CRL_TIME = DateTimeFormatter.ofPattern("yyyyMMddHHmmss'Z'")
            .withZone(ZoneOffset.UTC);

    private final Path dir;
    private final String name;

    /** A key file and its certificate, as openssl wrote them. */
    public record Issued(Path cert, Path key) {
    }

    private OpenSslCa(Path dir, String name) {
        this.dir = dir;
        this.name = name;
    }

    public Path dir() {
        return dir;
    }

    public Path certificate() {
        return dir.resolve("ca.pem");
    }

    /** A self-signed RSA-2048/SHA-256 root CA made with {@code openssl req -x509}. */
    public static OpenSslCa root(Path parent, String name) throws Exception {
        return root(parent, name, "sha256");
    }

    /** A self-signed RSA-2048 root CA whose self-signature uses {@code digest}. */
    public static OpenSslCa root(Path parent, String name, String digest) throws Exception {
        OpenSslCa ca = new OpenSslCa(prepare(parent, name), name);
        ca.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-" + digest, "-days", "30",
                "-keyout", ca.dir.resolve("ca.key").toString(), "-out", ca.certificate().toString(),
                "-subj", "/CN=" + name, "-addext", "basicConstraints=critical,CA:true",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-addext", "subjectKeyIdentifier=hash");
        return ca;
    }

    /** A subordinate CA (RSA-2048) signed by this CA with {@code openssl ca -extensions v3_ca}. */
    public OpenSslCa intermediate(String childName) throws Exception {
        return intermediate(childName, "rsa:2048");
    }

    /** A subordinate CA with a key made by {@code openssl req -newkey keyAlgorithm}. */
    public OpenSslCa intermediate(String childName, String keyAlgorithm) throws Exception {
        OpenSslCa child = new OpenSslCa(prepare(dir.getParent(), childName), childName);
        Path csr = child.dir.resolve("ca.csr");
        openssl("req", "-new", "-newkey", keyAlgorithm, "-nodes", "-keyout", child.dir.resolve("ca.key").toString(),
                "-out", csr.toString(), "-subj", "/CN=" + childName);
        sign(csr, child.certificate(), "v3_ca", "sha256");
        return child;
    }

    /** A client certificate (EKU clientAuth) for a fresh key made with {@code keyAlgorithm} (openssl req -newkey). */
    public Issued client(String cn, String keyAlgorithm, String digest) throws Exception {
        return issue(cn, keyAlgorithm, digest, "client");
    }

    /** A server certificate for localhost and 127.0.0.1. */
    public Issued server(String cn, String keyAlgorithm) throws Exception {
        return issue(cn, keyAlgorithm, "sha256", "server");
    }

    private Issued issue(String cn, String keyAlgorithm, String digest, String extensions) throws Exception {
        String file = cn.replaceAll("[^A-Za-z0-9]", "_");
        Path key = dir.resolve(file + ".key");
        Path csr = dir.resolve(file + ".csr");
        Path cert = dir.resolve(file + ".pem");
        openssl("req", "-new", "-newkey", keyAlgorithm, "-nodes", "-keyout", key.toString(), "-out", csr.toString(),
                "-subj", "/CN=" + cn);
        sign(csr, cert, extensions, digest);
        return new Issued(cert, key);
    }

    private void sign(Path csr, Path out, String extensions, String digest) throws Exception {
        openssl("ca", "-batch", "-config", config().toString(), "-extensions", extensions, "-md", digest,
                "-in", csr.toString(), "-out", out.toString(), "-notext");
    }

    /** {@code openssl ca -revoke}. */
    public void revoke(Path cert) throws Exception {
        openssl("ca", "-batch", "-config", config().toString(), "-revoke", cert.toString());
    }

    /** {@code openssl ca -gencrl}, valid from an hour ago for {@code days} days, written to {@code out}. */
    public void crl(Path out, int days) throws Exception {
        openssl("ca", "-batch", "-config", config().toString(), "-gencrl", "-crldays", String.valueOf(days),
                "-out", out.toString());
    }

    /** {@code openssl ca -gencrl} with explicit lastUpdate and nextUpdate (an expired CRL, say). */
    public void crl(Path out, Instant lastUpdate, Instant nextUpdate) throws Exception {
        openssl("ca", "-batch", "-config", config().toString(), "-gencrl", "-crl_lastupdate", CRL_TIME.format(lastUpdate),
                "-crl_nextupdate", CRL_TIME.format(nextUpdate), "-out", out.toString());
    }

    private static Path prepare(Path parent, String name) throws Exception {
        Path d = parent.resolve(name.replaceAll("[^A-Za-z0-9]", "_"));
        Files.createDirectories(d.resolve("newcerts"));
        Files.writeString(d.resolve("index.txt"), "");
        Files.writeString(d.resolve("serial"), String.format("%016X%n", System.nanoTime() & 0x7fffffffffffL));
        Files.writeString(d.resolve("crlnumber"), "01\n");
        return d;
    }

    private Path config() throws Exception {
        Path c = dir.resolve("openssl.cnf");
        if (!Files.exists(c)) {
            Files.writeString(c, """
                    [ ca ]
                    default_ca = CA_default
                    [ CA_default ]
                    dir = %s
                    database = $dir/index.txt
                    new_certs_dir = $dir/newcerts
                    certificate = $dir/ca.pem
                    private_key = $dir/ca.key
                    serial = $dir/serial
                    crlnumber = $dir/crlnumber
                    default_md = sha256
                    default_days = 30
                    default_crl_days = 7
                    policy = policy_any
                    unique_subject = no
                    copy_extensions = none
                    [ policy_any ]
                    commonName = supplied
                    [ v3_ca ]
                    basicConstraints = critical,CA:true
                    keyUsage = critical,keyCertSign,cRLSign
                    subjectKeyIdentifier = hash
                    authorityKeyIdentifier = keyid
                    [ client ]
                    basicConstraints = CA:false
                    keyUsage = critical,digitalSignature
                    extendedKeyUsage = clientAuth
                    subjectKeyIdentifier = hash
                    authorityKeyIdentifier = keyid
                    [ server ]
                    basicConstraints = CA:false
                    keyUsage = critical,digitalSignature,keyEncipherment
                    extendedKeyUsage = serverAuth
                    subjectAltName = DNS:localhost,IP:127.0.0.1
                    subjectKeyIdentifier = hash
                    authorityKeyIdentifier = keyid
                    """.formatted(dir.toAbsolutePath()));
        }
        return c;
    }

    /** Runs openssl; fails the test with its output if it fails. */
    public static String openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add("openssl");
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + cmd);
        }
        String text = new String(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new AssertionError("failed (" + p.exitValue() + "): " + cmd + "\n" + text);
        }
        return text;
    }

    /** True when {@code program} is an executable on the PATH. */
    public static boolean installed(String program) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (new File(d, program).canExecute()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return name;
    }
}
