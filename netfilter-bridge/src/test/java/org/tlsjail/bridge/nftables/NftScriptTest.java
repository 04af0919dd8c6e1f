package org.tlsjail.bridge.nftables;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.tlsjail.banengine.BanRecord;
import org.tlsjail.banengine.SourceKey;

class NftScriptTest {
    private static final Instant NOW = Instant.parse("2026-11-30T08:00:00Z");

    private static BanRecord ban(String key, Duration left) {
        return new BanRecord(SourceKey.parse(key), NOW, left == null ? null : NOW.plus(left), 1, "manual");
    }

    @Test
    void aBanReplacesAnyElementAndCarriesTheRemainingTimeRoundedUp() {
        NftScript s = new NftScript("tlsjail");
        assertThat(s.add(ban("10.0.0.1", Duration.ofMillis(3_599_001)), NOW)).isTrue();
        assertThat(s.toString()).isEqualTo(
                "add element inet tlsjail v4 { 10.0.0.1 }\n"
                        + "delete element inet tlsjail v4 { 10.0.0.1 }\n"
                        + "add element inet tlsjail v4 { 10.0.0.1 timeout 3600s }\n");
    }

    @Test
    void permanentBansHaveNoTimeoutAndVeryLongOnesAreCapped() {
        NftScript s = new NftScript("t");
        s.add(ban("2001:db8:1:2::/64", null), NOW);
        s.add(ban("10.0.0.0/24", Duration.ofDays(365)), NOW);
        assertThat(s.toString())
                .contains("add element inet t v6 { 2001:db8:1:2::/64 }\n")
                .doesNotContain("2001:db8:1:2::/64 timeout")
                .contains("add element inet t v4 { 10.0.0.0/24 timeout " + Duration.ofDays(24).toSeconds() + "s }");
    }

    @Test
    void anExpiredBanWritesNothing() {
        NftScript s = new NftScript("t");
        assertThat(s.add(ban("10.0.0.1", Duration.ZERO), NOW)).isFalse();
        assertThat(s.isEmpty()).isTrue();
    }

    @Test
    void removalNeverFailsOnAMissingElement() {
        NftScript s = new NftScript("t");
        s.remove(SourceKey.parse("10.0.0.1"));
        assertThat(s.toString()).isEqualTo("add element inet t v4 { 10.0.0.1 }\ndelete element inet t v4 { 10.0.0.1 }\n");
    }

    @Test
    void theTableRuleMatchesOnlyNewConnectionsToThePort() {
        String s = new NftScript("tlsjail").createTable(6619, NftAction.REJECT).toString();
        assertThat(s).contains("tcp dport 6619 tcp flags & (syn | ack) == syn ip saddr @v4 counter reject with tcp reset")
                .contains("ip6 saddr @v6")
                .contains("flags interval, timeout");
    }

    @Test
    void configRejectsNamesThatCouldCarryNftSyntaxAndNamesTheOption() {
        NftablesBridgeConfig d = NftablesBridgeConfig.defaults();
        assertThat(d.table()).isEqualTo("tlsjail");
        assertThat(d.port()).isEqualTo(6619);
        assertThat(d.action()).isEqualTo(NftAction.DROP);
        assertThat(d.keepOnStop()).isFalse();
        assertThat(d.nft()).isEqualTo(Path.of("nft"));
        assertThatThrownBy(() -> d.withTable("t; flush ruleset")).hasMessageContaining("bridge.nftables.table");
        assertThatThrownBy(() -> d.withTable("inet tlsjail")).hasMessageContaining("bridge.nftables.table");
        assertThatThrownBy(() -> d.withPort(0)).hasMessageContaining("bridge.nftables.port");
        assertThatThrownBy(() -> d.withPort(65536)).hasMessageContaining("bridge.nftables.port");
        assertThatThrownBy(() -> d.withQueue(q -> q.withTimeout(Duration.ZERO))).hasMessageContaining("bridge.nftables.timeout");
        assertThatThrownBy(() -> d.withQueue(q -> q.withMaxPending(-1))).hasMessageContaining("bridge.nftables.max-pending");
        assertThatThrownBy(() -> d.withQueue(q -> q.withReconcileInterval(null)))
                .hasMessageContaining("bridge.nftables.reconcile-interval");
        assertThatThrownBy(() -> NftAction.parse("accept")).hasMessageContaining("bridge.nftables.action");
        assertThat(NftAction.parse("Reject")).isEqualTo(NftAction.REJECT);
    }
}
