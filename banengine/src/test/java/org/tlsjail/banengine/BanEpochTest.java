package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.tlsjail.banengine.Ips.ip;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * The ban epoch the listener's re-checks rely on: it moves with every way a source can become
 * banned, and not with anything else, so a connection that saw no move needs no second isBanned.
 */
class BanEpochTest {
    @Test
    void movesWithEveryBanAndOnlyThen() {
        ManualClock clock = new ManualClock();
        BanEngine engine = new BanEngine(JailConfig.builder().maxRetry(2).build(), clock);
        long e = engine.banEpoch();

        engine.recordFailure(ip("192.0.2.1"));
        engine.unban(ip("192.0.2.9"));
        engine.expireDue();
        assertThat(engine.banEpoch()).as("a counted failure, a no-op unban, a sweep").isEqualTo(e);

        engine.recordFailure(ip("192.0.2.1")); // the second: banned
        assertThat(engine.isBanned(ip("192.0.2.1"))).isTrue();
        assertThat(engine.banEpoch()).as("an automatic ban").isNotEqualTo(e);

        e = engine.banEpoch();
        engine.ban(ip("192.0.2.2"), Duration.ofHours(1), "manual");
        assertThat(engine.banEpoch()).as("a manual ban").isNotEqualTo(e);

        e = engine.banEpoch();
        engine.unban(ip("192.0.2.2"));
        assertThat(engine.banEpoch()).as("an unban makes no source banned").isEqualTo(e);

        Instant now = clock.instant();
        BanRecord remote = new BanRecord(SourceKey.parse("192.0.2.3"), now, now.plus(Duration.ofHours(1)), 1, "cluster");
        assertThat(engine.applyBan(remote)).isTrue();
        assertThat(engine.banEpoch()).as("a ban applied from another node").isNotEqualTo(e);

        e = engine.banEpoch();
        BanRecord journal = new BanRecord(SourceKey.parse("192.0.2.4"), now, now.plus(Duration.ofHours(1)), 1, "journal");
        assertThat(engine.restore(journal)).isTrue();
        assertThat(engine.banEpoch()).as("a ban restored from the journal").isNotEqualTo(e);

        e = engine.banEpoch();
        engine.reconfigure(JailConfig.builder().maxRetry(2).ipv4Prefix(24).build());
        assertThat(engine.banEpoch()).as("a new prefix length can put an address under a ban").isNotEqualTo(e);
    }
}
