package org.tlsjail.listener;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.pki.DemoPki;
import org.tlsjail.tls.KeySource;
import org.tlsjail.tls.ServerTls;
import org.tlsjail.tls.TlsSettings;
import org.tlsjail.testing.Await;
import org.tlsjail.tls.TrustSource;

/**
 * A partner in {@code ignoreip} shares its ban unit ({@code ipv4-prefix: 24}) with an attacker:
 * the attacker fails maxretry times from a neighbouring address to get the unit banned, and with
 * it the partner. README promises an ignoreip address is never banned, so the partner must still
 * complete its handshake while the attacker's neighbours are refused. Real peers: openssl s_client
 * bound to 127.0.9.x.
 */
class IgnoredNeighbourTest {
    @TempDir
    Path dir;

    @Test
    void anIgnoredPartnerIsServedWhenANeighbourGetsTheirUnitBanned() throws Exception {
        DemoPki.Layout pki = DemoPki.ensure(dir);
        TlsSettings settings = TlsSettings.of(KeySource.pem(pki.serverChain(), pki.serverKey()),
                TrustSource.pemBundle(pki.caCertificate()));
        BanEngine engine = new BanEngine(JailConfig.builder().ipv4Prefix(24).ignoreIp(List.of("127.0.9.5")).build(),
                InstantSource.system());
        LinkedBlockingQueue<String> handled = new LinkedBlockingQueue<>();
        try (TlsListener listener = TlsListener.builder(ServerTls.load(settings, InstantSource.system()), engine,
                        (socket, remote, chain) -> handled.add(remote.getAddress().getHostAddress()))
                .config(ListenerConfig.builder().bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0)).build())
                .build().start()) {
            for (int i = 0; i < 3; i++) {
                Peers.sClient(listener.localAddress(), "127.0.9.66", "-tls1_3"); // no client certificate
            }
            InetAddress attacker = InetAddress.getByName("127.0.9.66");
            Await.until("the attacker's unit banned", Duration.ofSeconds(20), () -> engine.isBanned(attacker));
            Peers.Run neighbour = Peers.sClient(listener.localAddress(), "127.0.9.67", "-tls1_3");
            assertThat(neighbour.sawServerCertificate()).as(neighbour.output()).isFalse();

            Peers.Run partner = Peers.sClient(listener.localAddress(), "127.0.9.5", "-tls1_3",
                    "-cert", pki.clientChain().toString(), "-key", pki.clientKey().toString(),
                    "-CAfile", pki.caCertificate().toString());
            assertThat(partner.sawServerCertificate()).as(partner.output()).isTrue();
            assertThat(partner.output()).contains("Verify return code: 0 (ok)");
            assertThat(handled.poll(20, TimeUnit.SECONDS)).isEqualTo("127.0.9.5");
            assertThat(engine.banned()).singleElement().satisfies(b -> assertThat(b.key()).hasToString("127.0.9.0/24"));
        }
    }
}
