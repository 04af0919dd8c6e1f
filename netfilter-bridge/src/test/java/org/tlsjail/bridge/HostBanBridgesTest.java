package org.tlsjail.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.bridge.fail2ban.Fail2BanBridge;
import org.tlsjail.bridge.fail2ban.Fail2BanMode;
import org.tlsjail.bridge.nftables.NftAction;
import org.tlsjail.bridge.nftables.NftablesBridge;

/** The YAML section as SnakeYAML's safe loader hands it over: maps of String, Integer, Boolean. */
class HostBanBridgesTest {
    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-30T08:00:00Z"));
    private final BanEngine engine = new BanEngine(JailConfig.defaults(), clock);

    @Test
    void noSectionOrDisabledBridgesMeanNoBridges() {
        assertThat(HostBanBridges.fromYaml(null, engine, clock, 6619)).isEmpty();
        assertThat(HostBanBridges.fromYaml(Map.of("fail2ban", Map.of("enabled", false, "jail", "x"),
                "nftables", Map.of("port", 1)), engine, clock, 6619)).isEmpty();
    }

    @Test
    void everyKeyReachesItsConfig() {
        List<HostBanBridge> bridges = HostBanBridges.fromYaml(Map.of(
                "fail2ban", Map.of("enabled", true, "socket", "/run/f2b.sock", "jail", "tls", "mode", "attempt",
                        "timeout", "2", "retry-min", "0.5", "retry-max", "2m", "max-pending", 50,
                        "reconcile-interval", "10m"),
                "nftables", Map.of("enabled", "yes", "nft", "/usr/sbin/nft", "table", "tj", "action", "reject",
                        "keep-on-stop", true, "timeout", "3", "max-pending", "70", "reconcile-interval", "30")),
                engine, clock, 7000);
        assertThat(bridges).hasSize(2);
        Fail2BanBridge f = (Fail2BanBridge) bridges.get(0);
        assertThat(f.config().socket()).isEqualTo(Path.of("/run/f2b.sock"));
        assertThat(f.config().jail()).isEqualTo("tls");
        assertThat(f.config().mode()).isEqualTo(Fail2BanMode.ATTEMPT);
        assertThat(f.config().timeout()).isEqualTo(Duration.ofSeconds(2));
        assertThat(f.config().retryMin()).isEqualTo(Duration.ofMillis(500));
        assertThat(f.config().retryMax()).isEqualTo(Duration.ofMinutes(2));
        assertThat(f.config().maxPending()).isEqualTo(50);
        assertThat(f.config().reconcileInterval()).isEqualTo(Duration.ofMinutes(10));
        NftablesBridge n = (NftablesBridge) bridges.get(1);
        assertThat(n.config().nft()).isEqualTo(Path.of("/usr/sbin/nft"));
        assertThat(n.config().table()).isEqualTo("tj");
        assertThat(n.config().port()).as("defaults to the listener's port").isEqualTo(7000);
        assertThat(n.config().action()).isEqualTo(NftAction.REJECT);
        assertThat(n.config().keepOnStop()).isTrue();
        assertThat(n.config().timeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(n.config().maxPending()).isEqualTo(70);
        assertThat(n.config().reconcileInterval()).isEqualTo(Duration.ofSeconds(30));
        bridges.forEach(HostBanBridge::close); // never started: closing is still fine
    }

    @Test
    void errorsNameTheYamlOption() {
        assertThatThrownBy(() -> HostBanBridges.fromYaml(Map.of("fail2ban", Map.of("enabled", true, "jial", "x")),
                engine, clock, 1)).hasMessageContaining("bridge.fail2ban.jial").hasMessageContaining("unknown");
        assertThatThrownBy(() -> HostBanBridges.fromYaml(Map.of("iptables", Map.of()), engine, clock, 1))
                .hasMessageContaining("bridge.iptables");
        assertThatThrownBy(() -> HostBanBridges.fromYaml(Map.of("nftables", Map.of("enabled", true, "port", "http")),
                engine, clock, 1)).hasMessageContaining("bridge.nftables.port");
        assertThatThrownBy(() -> HostBanBridges.fromYaml(Map.of("nftables", Map.of("enabled", true, "port", 70000)),
                engine, clock, 1)).hasMessageContaining("bridge.nftables.port");
        assertThatThrownBy(() -> HostBanBridges.fromYaml(Map.of("nftables", Map.of("enabled", "maybe")),
                engine, clock, 1)).hasMessageContaining("bridge.nftables.enabled");
        assertThatThrownBy(() -> HostBanBridges.fromYaml(Map.of("fail2ban", Map.of("enabled", true, "timeout", "soon")),
                engine, clock, 1)).hasMessageContaining("bridge.fail2ban.timeout");
        assertThatThrownBy(() -> HostBanBridges.fromYaml(Map.of("fail2ban", Map.of("enabled", true, "timeout", "-1")),
                engine, clock, 1)).hasMessageContaining("bridge.fail2ban.timeout");
        assertThatThrownBy(() -> HostBanBridges.fromYaml(Map.of("fail2ban", Map.of("enabled", true, "mode", "ban")),
                engine, clock, 1)).hasMessageContaining("bridge.fail2ban.mode");
        assertThatThrownBy(() -> HostBanBridges.fromYaml(Map.of("nftables", "on"), engine, clock, 1))
                .hasMessageContaining("bridge.nftables");
    }

    @Test
    void aBridgeThatCannotStartIsDetachedFromTheEngine() throws Exception {
        HostBanBridge b = HostBanBridges.fromYaml(Map.of("nftables", Map.of("enabled", true, "nft", "/nonexistent/nft")),
                engine, clock, 6619).get(0);
        assertThatThrownBy(() -> b.startOn(engine)).isInstanceOf(BridgeStartException.class)
                .hasMessageContaining("bridge.nftables.nft");
        engine.ban(java.net.InetAddress.getByName("192.0.2.1"), null, "manual");
        assertThat(b.status().pending()).isZero();
    }
}
