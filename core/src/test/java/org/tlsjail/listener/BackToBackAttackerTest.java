package org.tlsjail.listener;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.pki.DemoPki;
import org.tlsjail.tls.KeySource;
import org.tlsjail.tls.ServerTls;
import org.tlsjail.tls.TlsSettings;
import org.tlsjail.tls.TrustSource;

/**
 * An attacker that reconnects the instant its handshake fails gets no TLS work after its
 * maxretry-th failure: the server's alert is held back until the failure is counted, so the ban
 * is in place before the client can learn it failed.
 */
class BackToBackAttackerTest {
    @TempDir
    Path dir;

    @Test
    void noServerCertificateAfterTheThirdFailure() throws Exception {
        DemoPki.Layout pki = DemoPki.ensure(dir);
        TlsSettings settings = TlsSettings.of(KeySource.pem(pki.serverChain(), pki.serverKey()),
                TrustSource.pemBundle(pki.caCertificate()));
        BanEngine engine = new BanEngine(JailConfig.defaults(), InstantSource.system());
        AtomicInteger certificatesSeen = new AtomicInteger();
        SSLContext client = SSLContext.getInstance("TLS");
        client.init(null, new TrustManager[] {new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
                certificatesSeen.incrementAndGet(); // the server did TLS work for us
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, null);
        List<String> rounds = new ArrayList<>();
        try (TlsListener listener = TlsListener.builder(ServerTls.load(settings, InstantSource.system()), engine,
                        (socket, remote, chain) -> { })
                .config(ListenerConfig.builder().bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0)).build())
                .build().start()) {
            for (int source = 0; source < 6; source++) {
                String from = "127.0.3." + (10 + source);
                String protocol = source % 2 == 0 ? "TLSv1.3" : "TLSv1.2";
                StringBuilder seen = new StringBuilder();
                for (int attempt = 1; attempt <= 5; attempt++) {
                    int before = certificatesSeen.get();
                    try (Socket raw = new Socket()) {
                        raw.bind(new InetSocketAddress(from, 0));
                        raw.connect(listener.localAddress());
                        SSLSocket ssl = (SSLSocket) client.getSocketFactory().createSocket(raw, "localhost", 0, true);
                        ssl.setEnabledProtocols(new String[] {protocol});
                        ssl.setSoTimeout(20_000);
                        ssl.startHandshake();
                        ssl.getInputStream().read(); // TLS 1.3: the missing certificate is judged after the client's flight
                    } catch (java.io.IOException expected) {
                        // every attempt fails: no client certificate
                    }
                    seen.append(certificatesSeen.get() > before ? 'C' : '-');
                }
                rounds.add(from + " " + protocol + " " + seen);
            }
        }
        System.out.println("back-to-back attacker (C = server certificate received): " + rounds);
        assertThat(rounds).allSatisfy(r -> assertThat(r).endsWith("CCC--"));
    }
}
