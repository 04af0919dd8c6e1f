package org.tlsjail.tls;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.listener.ConnectionHandler;
import org.tlsjail.listener.ListenerConfig;
import org.tlsjail.listener.TlsListener;
import org.tlsjail.testing.RealPeer;

/**
 * Issue 11 items 4 and 9: the default TLS policy (Mozilla "intermediate") as real clients see it.
 * Every TLS 1.2 cipher openssl knows and every TLS 1.3 suite is tried one at a time with
 * {@code openssl s_client}, every signature algorithm with {@code -sigalgs} (what the server signs
 * with) and {@code -client_sigalgs} (what it accepts from the client), against an RSA and an
 * ECDSA server key; exactly the intended set must succeed. {@code sslscan} must find the same.
 */
class TlsPolicyScanTest {
    @TempDir
    static Path dir;

    static OpenSslCa root;
    static OpenSslCa.Issued client;
    static BanEngine engine;
    static TlsListener rsa;
    static TlsListener ecdsa;
    static final List<ServerTls> loaded = new ArrayList<>();

    /** The TLS 1.2 suites of the default policy, OpenSSL names, by server key type. */
    static final Set<String> RSA_TLS12 = Set.of("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
            "ECDHE-RSA-CHACHA20-POLY1305");
    static final Set<String> ECDSA_TLS12 = Set.of("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
            "ECDHE-ECDSA-CHACHA20-POLY1305");
    static final Set<String> TLS13 = Set.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256");

    @BeforeAll
    static void setUp() throws Exception {
        RealPeer.require(OpenSslCa.installed("openssl"), "openssl is not installed (Debian package openssl)");
        root = OpenSslCa.root(dir, "Scan Root");
        client = root.client("scan partner", "rsa:2048", "sha256");
        Path p256 = dir.resolve("p256.pem");
        OpenSslCa.openssl("ecparam", "-name", "prime256v1", "-out", p256.toString());
        OpenSslCa.Issued rsaServer = root.server("localhost", "rsa:2048");
        OpenSslCa.Issued ecServer = root.server("localhost-ec", "ec:" + p256);
        // a scan is hundreds of failures from one address: no bans here
        engine = new BanEngine(JailConfig.builder().ignoreIp(List.of("127.0.0.0/8")).build(), InstantSource.system());
        rsa = listener(rsaServer);
        ecdsa = listener(ecServer);
    }

    private static TlsListener listener(OpenSslCa.Issued server) throws Exception {
        ServerTls tls = ServerTls.load(TlsSettings.of(KeySource.pem(server.cert(), server.key()),
                TrustSource.pemBundle(root.certificate())), InstantSource.system());
        loaded.add(tls);
        ConnectionHandler handler = (socket, remote, chain) -> {
            OutputStream out = socket.getOutputStream();
            out.write("served\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
        };
        return TlsListener.builder(tls, engine, handler)
                .config(ListenerConfig.builder().bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0))
                        .maxHandshakesPerSource(1000).build())
                .build().start();
    }

    @AfterAll
    static void tearDown() {
        for (TlsListener l : new TlsListener[] {rsa, ecdsa}) {
            if (l != null) {
                l.close();
            }
        }
        loaded.forEach(ServerTls::close);
    }

    /** True when the whole handshake (client certificate included) succeeded and the handler answered. */
    static boolean served(TlsListener l, String... options) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + l.localAddress().getPort(),
                "-servername", "localhost", "-cert", client.cert().toString(), "-key", client.key().toString(), "-ign_eof"));
        cmd.addAll(List.of(options));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("s_client timed out: " + cmd);
        }
        return out.contains("served");
    }

    private static List<String> opensslTls12Ciphers() throws Exception {
        return List.of(OpenSslCa.openssl("ciphers", "-s", "-tls1_2", "ALL:COMPLEMENTOFALL:@SECLEVEL=0").strip().split(":"));
    }

    @Test
    void tls12OffersExactlyEcdheWithAeadForTheServersKeyType() throws Exception {
        List<String> all = opensslTls12Ciphers();
        assertThat(all).hasSizeGreaterThan(50).containsAll(RSA_TLS12).containsAll(ECDSA_TLS12)
                .contains("ECDHE-RSA-AES128-SHA", "DHE-RSA-AES128-GCM-SHA256", "AES128-GCM-SHA256");
        Set<String> rsaOk = new TreeSet<>();
        Set<String> ecOk = new TreeSet<>();
        for (String c : all) {
            if (served(rsa, "-tls1_2", "-cipher", c + ":@SECLEVEL=0")) {
                rsaOk.add(c);
            }
            if (served(ecdsa, "-tls1_2", "-cipher", c + ":@SECLEVEL=0")) {
                ecOk.add(c);
            }
        }
        assertThat(rsaOk).isEqualTo(new TreeSet<>(RSA_TLS12));
        assertThat(ecOk).isEqualTo(new TreeSet<>(ECDSA_TLS12));
    }

    @Test
    void tls13OffersItsThreeStandardSuites() throws Exception {
        Set<String> ok = new TreeSet<>();
        for (String s : List.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256")) {
            boolean both = served(rsa, "-tls1_3", "-ciphersuites", s);
            assertThat(served(ecdsa, "-tls1_3", "-ciphersuites", s)).as(s).isEqualTo(both);
            if (both) {
                ok.add(s);
            }
        }
        assertThat(ok).isEqualTo(new TreeSet<>(TLS13));
        assertThat(served(rsa, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0")).isFalse();
    }

    /** An operator widens explicitly (an old OFTP2 stack): exactly what is named is added. */
    @Test
    void wideningIsExplicit() throws Exception {
        OpenSslCa.Issued server = root.server("localhost-wide", "rsa:2048");
        List<String> suites = new ArrayList<>(TlsPolicy.DEFAULT_CIPHER_SUITES);
        suites.add("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA");
        List<String> schemes = new ArrayList<>(TlsPolicy.DEFAULT_SIGNATURE_SCHEMES);
        schemes.add("rsa_pkcs1_sha1");
        ServerTls tls = ServerTls.load(TlsSettings.of(KeySource.pem(server.cert(), server.key()),
                TrustSource.pemBundle(root.certificate())).withCipherSuites(suites).withSignatureSchemes(schemes),
                InstantSource.system());
        loaded.add(tls);
        TlsListener wide = TlsListener.builder(tls, engine, (socket, remote, chain) -> {
            socket.getOutputStream().write("served\n".getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
        }).config(ListenerConfig.builder().bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0)).build())
                .build().start();
        try {
            assertThat(served(wide, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0")).isTrue();
            assertThat(served(wide, "-tls1_2", "-cipher", "ECDHE-RSA-AES256-SHA:@SECLEVEL=0")).isFalse();
            assertThat(served(wide, "-tls1_2", "-sigalgs", "RSA+SHA1", "-client_sigalgs", "rsa_pss_rsae_sha256",
                    "-cipher", "DEFAULT:@SECLEVEL=0")).isTrue();
            assertThat(served(wide, "-tls1_2", "-sigalgs", "RSA+SHA224", "-client_sigalgs", "rsa_pss_rsae_sha256",
                    "-cipher", "DEFAULT:@SECLEVEL=0")).isFalse();
        } finally {
            wide.close();
        }
    }

    /** The key-exchange groups README lists (Bouncy Castle's defaults), one at a time. */
    @Test
    void keyExchangeGroupsAreBouncyCastlesDefaults() throws Exception {
        Set<String> ok13 = new TreeSet<>();
        Set<String> ok12 = new TreeSet<>();
        for (String g : List.of("X25519", "P-256", "P-384", "P-521", "X448", "ffdhe2048", "ffdhe3072", "ffdhe4096",
                "ffdhe6144", "ffdhe8192", "brainpoolP256r1")) {
            if (served(rsa, "-tls1_3", "-groups", g)) {
                ok13.add(g);
            }
            if (served(rsa, "-tls1_2", "-groups", g, "-cipher", "ECDHE:@SECLEVEL=0")) {
                ok12.add(g);
            }
        }
        assertThat(ok13).containsExactlyInAnyOrder("X25519", "P-256", "P-384", "P-521", "X448", "ffdhe2048", "ffdhe3072",
                "ffdhe4096");
        assertThat(ok12).containsExactlyInAnyOrder("X25519", "P-256", "P-384", "P-521", "X448");
    }

    /** As Mozilla's intermediate profile: no server preference, the client's order picks the suite. */
    @Test
    void theClientsOrderDecides() throws Exception {
        assertThat(negotiated(ecdsa, "-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256"))
                .isEqualTo("TLS_AES_256_GCM_SHA384");
        assertThat(negotiated(ecdsa, "-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"))
                .isEqualTo("TLS_AES_128_GCM_SHA256");
        assertThat(negotiated(rsa, "-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256"))
                .isEqualTo("ECDHE-RSA-AES256-GCM-SHA384");
        assertThat(negotiated(rsa, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"))
                .isEqualTo("ECDHE-RSA-AES128-GCM-SHA256");
    }

    private static String negotiated(TlsListener l, String... options) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + l.localAddress().getPort(),
                "-servername", "localhost", "-cert", client.cert().toString(), "-key", client.key().toString()));
        cmd.addAll(List.of(options));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        Matcher m = Pattern.compile("Cipher is (\\S+)").matcher(out);
        assertThat(m.find()).as(out).isTrue();
        return m.group(1);
    }

    /** What the server may sign with (the client's signature_algorithms): no SHA-1, no SHA-224. */
    @Test
    void serverSignsOnlyWithTheDefaultSchemes() throws Exception {
        List<String> tried = List.of("RSA+SHA1", "RSA+SHA224", "ECDSA+SHA1", "ECDSA+SHA224",
                "rsa_pkcs1_sha256", "rsa_pkcs1_sha384", "rsa_pkcs1_sha512",
                "rsa_pss_rsae_sha256", "rsa_pss_rsae_sha384", "rsa_pss_rsae_sha512",
                "rsa_pss_pss_sha256", "ecdsa_secp256r1_sha256", "ecdsa_secp384r1_sha384", "ecdsa_secp521r1_sha512",
                "ed25519", "ed448");
        Set<String> rsa13 = new TreeSet<>();
        Set<String> rsa12 = new TreeSet<>();
        Set<String> ec13 = new TreeSet<>();
        Set<String> ec12 = new TreeSet<>();
        for (String sig : tried) {
            // SECLEVEL 0: openssl itself would not even offer SHA-1 otherwise; -client_sigalgs
            // keeps the client's own CertificateVerify (RSA key) out of what is measured here
            String[] lax = {"-sigalgs", sig, "-client_sigalgs", "rsa_pss_rsae_sha256:rsa_pkcs1_sha256",
                    "-cipher", "DEFAULT:@SECLEVEL=0"};
            if (served(rsa, concat(lax, "-tls1_3"))) {
                rsa13.add(sig);
            }
            if (served(rsa, concat(lax, "-tls1_2"))) {
                rsa12.add(sig);
            }
            if (served(ecdsa, concat(lax, "-tls1_3"))) {
                ec13.add(sig);
            }
            if (served(ecdsa, concat(lax, "-tls1_2"))) {
                ec12.add(sig);
            }
        }
        assertThat(rsa13).containsExactlyInAnyOrder("rsa_pss_rsae_sha256", "rsa_pss_rsae_sha384", "rsa_pss_rsae_sha512");
        assertThat(rsa12).containsExactlyInAnyOrder("rsa_pss_rsae_sha256", "rsa_pss_rsae_sha384", "rsa_pss_rsae_sha512",
                "rsa_pkcs1_sha256", "rsa_pkcs1_sha384", "rsa_pkcs1_sha512");
        assertThat(ec13).containsExactlyInAnyOrder("ecdsa_secp256r1_sha256");
        // TLS 1.2 does not tie an ECDSA hash to the curve
        assertThat(ec12).containsExactlyInAnyOrder("ecdsa_secp256r1_sha256", "ecdsa_secp384r1_sha384",
                "ecdsa_secp521r1_sha512");
    }

    /** What the client may sign its CertificateVerify with (our CertificateRequest's list). */
    @Test
    void clientSignaturesWithSha1OrSha224AreRefused() throws Exception {
        for (String sig : List.of("RSA+SHA1", "RSA+SHA224")) {
            assertThat(served(rsa, "-tls1_2", "-client_sigalgs", sig, "-cipher", "DEFAULT:@SECLEVEL=0")).as(sig).isFalse();
        }
        for (String sig : List.of("rsa_pkcs1_sha256", "rsa_pss_rsae_sha256", "rsa_pkcs1_sha512")) {
            assertThat(served(rsa, "-tls1_2", "-client_sigalgs", sig)).as(sig).isTrue();
        }
        assertThat(served(rsa, "-tls1_3", "-client_sigalgs", "rsa_pss_rsae_sha384")).isTrue();
        assertThat(served(rsa, "-tls1_3", "-client_sigalgs", "rsa_pkcs1_sha256")).isFalse();
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = new String[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static final Pattern XML_CIPHER = Pattern.compile(
            "<cipher status=\"(?:preferred|accepted)\" sslversion=\"([^\"]+)\"[^>]* cipher=\"([^\"]+)\"");
    private static final Pattern XML_SIG = Pattern.compile(
            "<connection-signature-algorithm sslversion=\"([^\"]+)\" name=\"([^\"]+)\"");
    private static final Pattern XML_PROTOCOL = Pattern.compile("<protocol type=\"(\\w+)\" version=\"([\\d.]+)\" enabled=\"(\\d)\"");

    @Test
    void sslscanFindsExactlyTheDefaultPolicy() throws Exception {
        RealPeer.require(OpenSslCa.installed("sslscan"), "sslscan is not installed (Debian package sslscan)");
        for (TlsListener l : new TlsListener[] {rsa, ecdsa}) {
            // with a client certificate: without one the server ends every TLS 1.2 handshake and
            // sslscan counts no TLS 1.2 suite as accepted
            List<String> cmd = List.of("sslscan", "--xml=-", "--no-colour", "--show-sigs", "--no-heartbleed",
                    "--no-compression", "--no-fallback", "--no-renegotiation", "--no-groups", "--no-check-certificate",
                    "--certs=" + client.cert(), "--pk=" + client.key(), "127.0.0.1:" + l.localAddress().getPort());
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            String xml = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(180, TimeUnit.SECONDS)).isTrue();
            Set<String> ciphers = new TreeSet<>();
            Matcher m = XML_CIPHER.matcher(xml);
            while (m.find()) {
                ciphers.add(m.group(1) + " " + m.group(2));
            }
            Set<String> enabled = new TreeSet<>();
            Matcher pm = XML_PROTOCOL.matcher(xml);
            while (pm.find()) {
                if (pm.group(3).equals("1")) {
                    enabled.add(pm.group(1) + pm.group(2));
                }
            }
            Set<String> expected = new TreeSet<>();
            TLS13.forEach(s -> expected.add("TLSv1.3 " + s));
            (l == rsa ? RSA_TLS12 : ECDSA_TLS12).forEach(s -> expected.add("TLSv1.2 " + s));
            assertThat(ciphers).as(xml).isEqualTo(expected);
            assertThat(enabled).as(xml).containsExactlyInAnyOrder("tls1.2", "tls1.3");
            Set<String> sigs = new TreeSet<>();
            Matcher sm = XML_SIG.matcher(xml);
            while (sm.find()) {
                sigs.add(sm.group(1) + " " + sm.group(2));
            }
            assertThat(sigs).as(xml).isEqualTo(l == rsa
                    ? Set.of("TLSv1.3 rsa_pss_rsae_sha256", "TLSv1.3 rsa_pss_rsae_sha384", "TLSv1.3 rsa_pss_rsae_sha512",
                            "TLSv1.2 rsa_pss_rsae_sha256", "TLSv1.2 rsa_pss_rsae_sha384", "TLSv1.2 rsa_pss_rsae_sha512",
                            "TLSv1.2 rsa_pkcs1_sha256", "TLSv1.2 rsa_pkcs1_sha384", "TLSv1.2 rsa_pkcs1_sha512")
                    : Set.of("TLSv1.3 ecdsa_secp256r1_sha256", "TLSv1.2 ecdsa_secp256r1_sha256",
                            "TLSv1.2 ecdsa_secp384r1_sha384", "TLSv1.2 ecdsa_secp521r1_sha512"));
        }
    }
}
