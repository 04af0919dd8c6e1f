package org.tlsjail.bridge.fail2ban;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class Fail2BanBridgeConfigTest {

    @Test
    void defaultsAreTheDocumentedOnes() {
        Fail2BanBridgeConfig c = Fail2BanBridgeConfig.defaults();
        assertThat(c.socket()).isEqualTo(Path.of("/var/run/fail2ban/fail2ban.sock"));
        assertThat(c.jail()).isEqualTo("os4x");
        assertThat(c.mode()).isEqualTo(Fail2BanMode.BANIP);
        assertThat(c.queue().timeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.queue().retryMin()).isEqualTo(Duration.ofSeconds(1));
        assertThat(c.queue().retryMax()).isEqualTo(Duration.ofMinutes(1));
        assertThat(c.queue().maxPending()).isEqualTo(100_000);
        assertThat(c.queue().reconcileInterval()).isEqualTo(Duration.ofMinutes(5));
    }

    @Test
    void invalidValuesNameTheirYamlOption() {
        Fail2BanBridgeConfig d = Fail2BanBridgeConfig.defaults();
        assertThatThrownBy(() -> d.withJail("os4x; rm")).hasMessageContaining("bridge.fail2ban.jail");
        assertThatThrownBy(() -> d.withJail("")).hasMessageContaining("bridge.fail2ban.jail");
        assertThatThrownBy(() -> d.withSocket(Path.of(""))).hasMessageContaining("bridge.fail2ban.socket");
        assertThatThrownBy(() -> d.withQueue(q -> q.withTimeout(Duration.ZERO)))
                .hasMessage("bridge.fail2ban.timeout must be a positive duration, got PT0S");
        assertThatThrownBy(() -> d.withQueue(q -> q.withRetry(Duration.ofSeconds(5), Duration.ofSeconds(1))))
                .hasMessage("bridge.fail2ban.retry-max must be at least bridge.fail2ban.retry-min (5s), got 1s");
        assertThatThrownBy(() -> d.withQueue(q -> q.withMaxPending(0)))
                .hasMessage("bridge.fail2ban.max-pending must be 1..10000000, got 0");
        assertThatThrownBy(() -> d.withQueue(q -> q.withReconcileInterval(Duration.ofSeconds(-1))))
                .hasMessageContaining("bridge.fail2ban.reconcile-interval");
        // the shared settings name the section they belong to, never another bridge's
        assertThatThrownBy(() -> new Fail2BanBridgeConfig(d.socket(), d.jail(), d.mode(),
                org.tlsjail.bridge.haproxy.HaproxyBridgeConfig.defaults().queue())).hasMessageContaining("bridge.haproxy");
        assertThatThrownBy(() -> Fail2BanMode.parse("ban")).hasMessageContaining("bridge.fail2ban.mode");
    }

    @Test
    void modesParseAsWrittenInYaml() {
        assertThat(Fail2BanMode.parse("banip")).isEqualTo(Fail2BanMode.BANIP);
        assertThat(Fail2BanMode.parse(" Attempt ")).isEqualTo(Fail2BanMode.ATTEMPT);
        assertThat(Fail2BanMode.ATTEMPT.yamlName()).isEqualTo("attempt");
    }

    @Test
    void attemptReasonsAreReducedToHarmlessText() {
        assertThat(Fail2BanBridge.safeReason("peer did not return a certificate"))
                .isEqualTo("peer did not return a certificate");
        assertThat(Fail2BanBridge.safeReason("x: TLS error 1 during connect try from 8.8.8.8: `id`\n$(reboot)"))
                .doesNotContain("`", "$", "(", "\n");
        assertThat(Fail2BanBridge.safeReason(null)).isEqualTo("tlsjail failure");
        assertThat(Fail2BanBridge.safeReason("a".repeat(1000))).hasSize(200);
    }
}
