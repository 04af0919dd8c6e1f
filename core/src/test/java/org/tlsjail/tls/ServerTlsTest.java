package org.tlsjail.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.pki.CertificateAuthority;
import org.tlsjail.pki.CertificateSpec;
import org.tlsjail.pki.DemoPki;

class ServerTlsTest {
    @TempDir
    static Path dir;
    static DemoPki.Layout demo;

    @BeforeAll
    static void pki() throws Exception {
        demo = DemoPki.ensure(dir.resolve("demo"));
    }

    @Test
    void loadsPemAndPkcs12Material() {
        ServerTls pem = ServerTls.load(TlsSettings.of(KeySource.pem(demo.serverChain(), demo.serverKey()),
                TrustSource.pemBundle(demo.caCertificate())), InstantSource.system());
        assertThat(pem.serverCertificate().getSubjectX500Principal().getName()).contains("CN=localhost");
        ServerTls p12 = ServerTls.load(TlsSettings.of(KeySource.pkcs12(demo.serverPkcs12(), DemoPki.PASSWORD),
                TrustSource.pkcs12(demo.clientPkcs12(), DemoPki.PASSWORD)), InstantSource.system());
        assertThat(p12.settings().clientAuth()).isEqualTo(ClientAuth.REQUIRED);
        ServerTls none = ServerTls.load(new TlsSettings(KeySource.pem(demo.serverChain(), demo.serverKey()), null,
                List.of("TLSv1.2"), List.of(), ClientAuth.NONE), InstantSource.system());
        assertThat(none.settings().protocols()).containsExactly("TLSv1.2");
    }

    @Test
    void keyCertificateMismatchNamesBothFiles() {
        assertThatThrownBy(() -> ServerTls.load(TlsSettings.of(KeySource.pem(demo.serverChain(), demo.clientKey()),
                TrustSource.pemBundle(demo.caCertificate())), InstantSource.system()))
                .isInstanceOf(TlsSetupException.class)
                .hasMessageContaining(demo.clientKey().toString())
                .hasMessageContaining(demo.serverChain().toString())
                .hasMessageContaining("does not match");
    }

    @Test
    void unreadableOrBrokenFilesAreNamed() throws Exception {
        Path garbage = dir.resolve("garbage.pem");
        Files.writeString(garbage, "not a key\n");
        assertThatThrownBy(() -> ServerTls.load(TlsSettings.of(KeySource.pem(demo.serverChain(), garbage),
                TrustSource.pemBundle(demo.caCertificate())), InstantSource.system()))
                .isInstanceOf(TlsSetupException.class).hasMessageContaining(garbage.toString());
        Path missing = dir.resolve("missing.pem");
        assertThatThrownBy(() -> ServerTls.load(TlsSettings.of(KeySource.pem(missing, demo.serverKey()),
                TrustSource.pemBundle(demo.caCertificate())), InstantSource.system()))
                .isInstanceOf(TlsSetupException.class).hasMessageContaining(missing.toString());
        assertThatThrownBy(() -> ServerTls.load(TlsSettings.of(KeySource.pkcs12(demo.serverPkcs12(), "wrong"),
                TrustSource.pemBundle(demo.caCertificate())), InstantSource.system()))
                .isInstanceOf(TlsSetupException.class).hasMessageContaining(demo.serverPkcs12().toString());
        Path locked = dir.resolve("locked.key");
        Files.copy(demo.serverKey(), locked);
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("---------"));
        if (!Files.isReadable(locked)) { // root reads anything
            assertThatThrownBy(() -> ServerTls.load(TlsSettings.of(KeySource.pem(demo.serverChain(), locked),
                    TrustSource.pemBundle(demo.caCertificate())), InstantSource.system()))
                    .isInstanceOf(TlsSetupException.class).hasMessageContaining(locked.toString());
        }
        assertThatThrownBy(() -> ServerTls.load(TlsSettings.of(KeySource.pem(demo.serverChain(), demo.serverKey()),
                TrustSource.pemBundle(garbage)), InstantSource.system()))
                .isInstanceOf(TlsSetupException.class).hasMessageContaining(garbage.toString());
    }

    @Test
    void settingsAreValidatedNamingTheOption() {
        KeySource k = KeySource.pem(demo.serverChain(), demo.serverKey());
        assertThatThrownBy(() -> TlsSettings.of(k, null)).hasMessageContaining("client-cas");
        assertThatThrownBy(() -> TlsSettings.of(k, TrustSource.pemBundle(demo.caCertificate())).withProtocols(List.of("TLSv1.1")))
                .hasMessageContaining("protocols").hasMessageContaining("TLSv1.1");
        assertThatThrownBy(() -> ServerTls.load(TlsSettings.of(k, TrustSource.pemBundle(demo.caCertificate()))
                .withCipherSuites(List.of("TLS_NOPE")), InstantSource.system()))
                .hasMessageContaining("cipher-suites").hasMessageContaining("TLS_NOPE");
    }

    @Test
    void verifyResultsFollowOpenssl() throws Exception {
        CertificateAuthority root = CertificateAuthority.create("root", Duration.ofDays(3));
        CertificateAuthority other = CertificateAuthority.create("other", Duration.ofDays(3));
        ClientCertificateVerifier v = new ClientCertificateVerifier(null, List.of(root.certificate()), InstantSource.system());
        Instant now = Instant.now();
        X509Certificate ok = root.issue(CertificateSpec.builder("ok").build()).certificate();
        assertThat(v.verifyResult(new X509Certificate[] {ok}, now)).isZero();
        assertThat(v.verifyResult(new X509Certificate[] {ok}, now.plus(Duration.ofDays(400))))
                .isEqualTo(X509VerifyResult.CERT_HAS_EXPIRED);
        X509Certificate future = root.issue(CertificateSpec.builder("f")
                .validity(now.plus(Duration.ofDays(1)), now.plus(Duration.ofDays(2))).build()).certificate();
        assertThat(v.verifyResult(new X509Certificate[] {future}, now)).isEqualTo(X509VerifyResult.CERT_NOT_YET_VALID);
        assertThat(v.verifyResult(new X509Certificate[] {other.certificate()}, now))
                .isEqualTo(X509VerifyResult.DEPTH_ZERO_SELF_SIGNED_CERT);
        X509Certificate stranger = other.issue(CertificateSpec.builder("s").build()).certificate();
        assertThat(v.verifyResult(new X509Certificate[] {stranger}, now))
                .isEqualTo(X509VerifyResult.UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
        assertThat(v.verifyResult(new X509Certificate[] {stranger, other.certificate()}, now))
                .isEqualTo(X509VerifyResult.SELF_SIGNED_CERT_IN_CHAIN);
        X509Certificate server = root.issue(CertificateSpec.builder("srv").usage(CertificateSpec.Usage.SERVER).build())
                .certificate();
        assertThat(v.verifyResult(new X509Certificate[] {server}, now)).isEqualTo(X509VerifyResult.INVALID_PURPOSE);
        assertThat(ClientCertificateVerifier.commonName(ok)).isEqualTo("ok");
    }
}
