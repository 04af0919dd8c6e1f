package org.tlsjail.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.bridge.fail2ban.Fail2BanBridge;
import org.tlsjail.bridge.fail2ban.Fail2BanBridgeConfig;
import org.tlsjail.bridge.fail2ban.Fail2BanMode;
import org.tlsjail.bridge.haproxy.HaproxyBridge;
import org.tlsjail.bridge.haproxy.HaproxyBridgeConfig;
import org.tlsjail.bridge.nftables.NftablesBridge;
import org.tlsjail.bridge.nftables.NftablesBridgeConfig;

/** The typed {@code bridge:} section (read and checked by core's loader) wired into bridges. */
class HostBanBridgesTest {
    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-30T08:00:00Z"));
    private final BanEngine engine = new BanEngine(JailConfig.defaults(), clock);

    @Test
    void noEnabledBridgeMeansNoBridges() {
        assertThat(BridgeConfig.NONE.isEmpty()).isTrue();
        assertThat(HostBanBridges.create(BridgeConfig.NONE, engine, clock)).isEmpty();
    }

    @Test
    void eachEnabledSectionBecomesItsBridgeWithItsSettings() throws Exception {
        Fail2BanBridgeConfig f2b = Fail2BanBridgeConfig.defaults().withJail("tls").withMode(Fail2BanMode.ATTEMPT);
        NftablesBridgeConfig nft = NftablesBridgeConfig.defaults().withTable("tj").withPort(7000);
        HaproxyBridgeConfig hap = HaproxyBridgeConfig.defaults().withAcl("#3");
        List<HostBanBridge> bridges = HostBanBridges.create(new BridgeConfig(f2b, nft, hap), engine, clock);
        assertThat(bridges).hasSize(3);
        assertThat(((Fail2BanBridge) bridges.get(0)).config()).isSameAs(f2b);
        assertThat(((NftablesBridge) bridges.get(1)).config()).isSameAs(nft);
        assertThat(((HaproxyBridge) bridges.get(2)).config()).isSameAs(hap);
        // created only: nothing listens on the engine until startOn
        engine.ban(java.net.InetAddress.getByName("192.0.2.7"), null, "manual");
        assertThat(bridges).allSatisfy(b -> assertThat(b.status().pending()).isZero());
        bridges.forEach(HostBanBridge::close); // never started: closing is still fine
        assertThat(HostBanBridges.create(new BridgeConfig(null, nft, null), engine, clock)).singleElement()
                .isInstanceOf(NftablesBridge.class);
    }

    @Test
    void aBridgeThatCannotStartIsDetachedFromTheEngine() throws Exception {
        BridgeConfig c = new BridgeConfig(null, NftablesBridgeConfig.defaults().withNft(Path.of("/nonexistent/nft")), null);
        HostBanBridge b = HostBanBridges.create(c, engine, clock).get(0);
        assertThatThrownBy(() -> b.startOn(engine)).isInstanceOf(BridgeStartException.class)
                .hasMessageContaining("bridge.nftables.nft");
        engine.ban(java.net.InetAddress.getByName("192.0.2.1"), null, "manual");
        assertThat(b.status().pending()).isZero();
    }
}
