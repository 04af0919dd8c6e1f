package org.tlsjail.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.InstantSource;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.testing.RealPeer;

/** Hostile and odd CRL files: a clear error naming the file (start, reload) or the old CRLs kept (watcher), never a crash. */
class CrlStoreTest {
    @TempDir
    Path dir;

    OpenSslCa ca;
    X509Certificate anchor;
    Path crls;

    @BeforeEach
    void setUp() throws Exception {
        RealPeer.require(OpenSslCa.installed("openssl"), "openssl is not installed (Debian package openssl)");
        ca = OpenSslCa.root(dir, "CRL Root");
        try (var in = Files.newInputStream(ca.certificate())) {
            anchor = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        crls = Files.createDirectories(dir.resolve("crls"));
        ca.crl(crls.resolve("root.pem"), 7);
    }

    private CrlStore load() {
        return CrlStore.load(RevocationSettings.of(List.of(crls)), List.of(anchor), InstantSource.system());
    }

    @Test
    void pemAndDerAreRead() throws Exception {
        OpenSslCa.openssl("crl", "-in", crls.resolve("root.pem").toString(), "-outform", "DER",
                "-out", crls.resolve("root.der").toString());
        assertThat(load().size()).isEqualTo(2);
    }

    @Test
    void garbageHugeAndForgedFilesAreErrorsNamingTheFile() throws Exception {
        Path garbage = crls.resolve("garbage.crl");
        Files.write(garbage, new byte[] {0x30, (byte) 0x84, 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff, 1, 2, 3});
        assertThatThrownBy(this::load).isInstanceOf(TlsSetupException.class).hasMessageContaining(garbage.toString())
                .hasMessageContaining("not a PEM or DER CRL");
        Files.delete(garbage);

        Path huge = crls.resolve("huge.crl");
        try (RandomAccessFile f = new RandomAccessFile(huge.toFile(), "rw")) {
            f.setLength(CrlStore.MAX_FILE_BYTES + 1); // sparse: costs no disk
        }
        assertThatThrownBy(this::load).isInstanceOf(TlsSetupException.class).hasMessageContaining(huge.toString())
                .hasMessageContaining("larger than 16 MiB");
        Files.delete(huge);

        OpenSslCa impostor = OpenSslCa.root(dir.resolve("impostor"), "CRL Root");
        impostor.crl(crls.resolve("forged.pem"), 7);
        assertThatThrownBy(this::load).isInstanceOf(TlsSetupException.class).hasMessageContaining("forged.pem")
                .hasMessageContaining("signature does not verify");
    }

    @Test
    void theWatcherKeepsTheOldCrlsWhileAFileIsBadAndTakesTheFixedOne() throws Exception {
        CrlStore store = load();
        assertThat(store.refreshIfChanged()).isFalse();
        Path bad = crls.resolve("next.pem");
        Files.writeString(bad, "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n");
        assertThatThrownBy(store::refreshIfChanged).hasMessageContaining(bad.toString());
        assertThat(store.size()).isEqualTo(1);
        // unchanged bad file: not parsed again, not reported again
        assertThat(store.refreshIfChanged()).isFalse();
        ca.crl(bad, 7);
        assertThat(store.refreshIfChanged()).isTrue();
        assertThat(store.size()).isEqualTo(2);
        Files.delete(bad);
        assertThat(store.refreshIfChanged()).isTrue();
        assertThat(store.size()).isEqualTo(1);
    }

    @Test
    void aMissingSourceOrTooManyFilesIsAnError() throws Exception {
        Path gone = dir.resolve("gone");
        assertThatThrownBy(() -> CrlStore.load(RevocationSettings.of(List.of(gone)), List.of(anchor), InstantSource.system()))
                .hasMessageContaining(gone.toString()).hasMessageContaining("no such file");
        for (int i = 0; i <= CrlStore.MAX_FILES; i++) {
            Files.createFile(crls.resolve("f" + i));
        }
        assertThatThrownBy(this::load).hasMessageContaining("more than 1000 files");
    }

    /** A CRL built with Bouncy Castle (openssl ca cannot make delta or partitioned CRLs), signed by the CA's key. */
    private Path bcCrl(String name, org.bouncycastle.asn1.x509.Extension extension) throws Exception {
        java.security.PrivateKey key = org.tlsjail.pki.PemFiles.readPrivateKey(ca.dir().resolve("ca.key"));
        java.util.Date now = new java.util.Date();
        org.bouncycastle.cert.X509v2CRLBuilder b = new org.bouncycastle.cert.X509v2CRLBuilder(
                org.bouncycastle.asn1.x500.X500Name.getInstance(anchor.getSubjectX500Principal().getEncoded()), now);
        b.setNextUpdate(new java.util.Date(now.getTime() + 86_400_000L));
        b.addExtension(extension);
        org.bouncycastle.cert.X509CRLHolder h = b.build(
                new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withRSA").build(key));
        Path out = crls.resolve(name);
        Files.write(out, h.getEncoded());
        return out;
    }

    @Test
    void deltaAndPartitionedCrlsAreRefusedAndDotFilesIgnored() throws Exception {
        Path delta = bcCrl("delta.crl", new org.bouncycastle.asn1.x509.Extension(
                org.bouncycastle.asn1.x509.Extension.deltaCRLIndicator, true,
                new org.bouncycastle.asn1.x509.CRLNumber(java.math.BigInteger.ONE).getEncoded()));
        assertThatThrownBy(this::load).hasMessageContaining(delta.toString()).hasMessageContaining("delta CRLs are not supported");
        Files.delete(delta);
        Path users = bcCrl("users.crl", new org.bouncycastle.asn1.x509.Extension(
                org.bouncycastle.asn1.x509.Extension.issuingDistributionPoint, true,
                new org.bouncycastle.asn1.x509.IssuingDistributionPoint(null, true, false, null, false, false).getEncoded()));
        assertThatThrownBy(this::load).hasMessageContaining(users.toString()).hasMessageContaining("partitioned or indirect");
        Files.delete(users);
        // a full CRL that names its distribution point is fine
        bcCrl("named.crl", new org.bouncycastle.asn1.x509.Extension(
                org.bouncycastle.asn1.x509.Extension.issuingDistributionPoint, true,
                new org.bouncycastle.asn1.x509.IssuingDistributionPoint(new org.bouncycastle.asn1.x509.DistributionPointName(
                        new org.bouncycastle.asn1.x509.GeneralNames(new org.bouncycastle.asn1.x509.GeneralName(
                                org.bouncycastle.asn1.x509.GeneralName.uniformResourceIdentifier, "http://ca.example/root.crl"))),
                        false, false, null, false, false).getEncoded()));
        Files.writeString(crls.resolve(".root.pem.swp"), "editor junk");
        assertThat(load().size()).isEqualTo(2);
    }

    @Test
    void theNewestCrlTheIssuerSignedDecides() throws Exception {
        OpenSslCa.Issued leaf = ca.client("leaf", "rsa:2048", "sha256");
        X509Certificate cert = org.tlsjail.pki.PemFiles.readCertificates(leaf.cert()).get(0);
        assertThat(load().check(List.of(cert, anchor))).isZero();
        ca.revoke(leaf.cert());
        // the older CRL stays next to the newer one (e.g. root.pem and root-2.pem)
        Thread.sleep(1100); // thisUpdate has a resolution of one second: let the next CRL be strictly newer
        ca.crl(crls.resolve("root-2.pem"), 7);
        assertThat(load().check(List.of(cert, anchor))).isEqualTo(X509VerifyResult.CERT_REVOKED);
    }
}
