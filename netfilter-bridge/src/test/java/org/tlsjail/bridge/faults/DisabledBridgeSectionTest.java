package org.tlsjail.bridge.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.bridge.HostBanBridges;

/**
 * Regression (found by core's configuration fuzz): the values of a bridge section without
 * {@code enabled: true} were not checked at all, so {@code config check} passed a broken section
 * that would only fail once someone enabled it.
 */
class DisabledBridgeSectionTest {
    private final BanEngine engine = new BanEngine(JailConfig.defaults(), InstantSource.system());

    @Test
    void aDisabledSectionIsValidatedButNotBuilt() {
        assertThatThrownBy(() -> HostBanBridges.fromYaml(Map.of("fail2ban", Map.of("jail", List.of(1))), engine,
                InstantSource.system(), 6619)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("bridge.fail2ban.jail: ");
        assertThatThrownBy(() -> HostBanBridges.fromYaml(Map.of("nftables", Map.of("enabled", false, "table", "x; drop")),
                engine, InstantSource.system(), 6619)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("bridge.nftables.table");
        assertThatThrownBy(() -> HostBanBridges.fromYaml(Map.of("fail2ban", Map.of("enabled", "no", "timeout", "-5")),
                engine, InstantSource.system(), 6619)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("bridge.fail2ban.timeout");
        assertThat(HostBanBridges.fromYaml(Map.of("fail2ban", Map.of("enabled", false, "jail", "os4x"),
                "nftables", Map.of("table", "tlsjail")), engine, InstantSource.system(), 6619)).isEmpty();
    }
}
