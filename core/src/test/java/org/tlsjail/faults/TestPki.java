package org.tlsjail.faults;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.tlsjail.pki.CertificateAuthority;
import org.tlsjail.pki.CertificateSpec;
import org.tlsjail.pki.Credential;
import org.tlsjail.pki.PemFiles;
import org.tlsjail.tls.KeySource;
import org.tlsjail.tls.TlsSettings;
import org.tlsjail.tls.TrustSource;

/** A CA, a server certificate for 127.0.0.1/localhost and a partner's client certificate, as PEM files. */
final class TestPki {
    final Path ca;
    final Path serverChain;
    final Path serverKey;
    final Path clientChain;
    final Path clientKey;
    private final CertificateAuthority authority;
    private final Credential client;

    private TestPki(Path dir) throws IOException {
        authority = CertificateAuthority.create("faults CA", Duration.ofDays(2));
        Credential server = authority.issue(CertificateSpec.builder("localhost").dnsName("localhost")
                .ipAddress(InetAddress.getByName("127.0.0.1")).usage(CertificateSpec.Usage.SERVER).build());
        client = authority.issue(CertificateSpec.builder("partner").usage(CertificateSpec.Usage.CLIENT).build());
        ca = dir.resolve("ca.pem");
        serverChain = dir.resolve("server.pem");
        serverKey = dir.resolve("server.key");
        clientChain = dir.resolve("client.pem");
        clientKey = dir.resolve("client.key");
        PemFiles.writeCertificates(ca, List.of(authority.certificate()));
        PemFiles.writeCertificates(serverChain, server.chain());
        PemFiles.writePrivateKey(serverKey, server.privateKey());
        PemFiles.writeCertificates(clientChain, client.chain());
        PemFiles.writePrivateKey(clientKey, client.privateKey());
    }

    static TestPki create(Path dir) throws IOException {
        return new TestPki(dir);
    }

    /** Server side: TLS 1.3 + 1.2, client certificate required, chained to our CA. */
    TlsSettings serverSettings() {
        return TlsSettings.of(KeySource.pem(serverChain, serverKey), TrustSource.pemBundle(ca));
    }

    /** A legitimate partner's client context (the JDK's own TLS client, our client certificate). */
    SSLContext partnerContext() throws Exception {
        char[] pw = "pw".toCharArray();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("partner", client.privateKey(), pw, client.chain().toArray(new X509Certificate[0]));
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, pw);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", authority.certificate());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLSv1.3");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }
}
