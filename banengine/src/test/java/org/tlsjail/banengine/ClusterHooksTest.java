package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The two hooks the cluster module plugs into: the failure listener and applyBan. */
class ClusterHooksTest {
    private final ManualClock clock = new ManualClock();
    private final BanEngine engine = new BanEngine(JailConfig.builder().maxRetry(3).ignoreIp(List.of("192.0.2.0/24"))
            .maxBans(2).build(), clock);

    @Test
    void failureListenerHearsCountedFailuresOnlyAndCannotBreakCounting() throws Exception {
        List<String> heard = new ArrayList<>();
        engine.addFailureListener((key, weight, at) -> heard.add(key + "x" + weight + "@" + at));
        engine.addFailureListener((key, weight, at) -> {
            throw new IllegalStateException("a broken listener");
        });
        InetAddress src = InetAddress.getByName("198.51.100.7");
        engine.recordFailure(src, 2, "x");
        engine.recordFailure(InetAddress.getByName("192.0.2.1")); // ignoreip: not counted, not told
        assertThat(engine.recordFailure(src)).isEqualTo(FailureOutcome.BANNED);
        engine.recordFailure(src); // banned already: not counted, not told
        assertThat(heard).containsExactly("198.51.100.7x2@" + clock.millis(), "198.51.100.7x1@" + clock.millis());
    }

    @Test
    void applyBanKeepsItsTimesTellsListenersAndNeverShortensABan() throws Exception {
        List<BanRecord> told = new ArrayList<>();
        engine.addListener(new BanListener() {
            @Override
            public void onBan(BanRecord ban) {
                told.add(ban);
            }

            @Override
            public void onUnban(BanRecord ban, UnbanCause cause) {
            }
        });
        SourceKey key = SourceKey.parse("198.51.100.8");
        Instant since = Instant.ofEpochMilli(clock.millis() - 1000);
        BanRecord remote = new BanRecord(key, since, since.plus(Duration.ofHours(2)), 4, "cluster");
        assertThat(engine.applyBan(remote)).isTrue();
        assertThat(engine.isBanned(InetAddress.getByName("198.51.100.8"))).isTrue();
        assertThat(engine.banned()).containsExactly(remote);
        assertThat(told).containsExactly(remote);
        // a shorter one does not replace it; one that has ended is not applied; ignoreip wins
        assertThat(engine.applyBan(new BanRecord(key, since, since.plus(Duration.ofMinutes(5)), 1, "x"))).isFalse();
        assertThat(engine.applyBan(new BanRecord(SourceKey.parse("198.51.100.9"), since, since.plusMillis(10), 1, "x")))
                .isFalse();
        assertThat(engine.applyBan(new BanRecord(SourceKey.parse("192.0.2.5"), since, null, 1, "x"))).isFalse();
        // bounded by max-bans like any ban: the one ending soonest goes
        engine.applyBan(new BanRecord(SourceKey.parse("198.51.100.10"), since, since.plus(Duration.ofHours(3)), 1, "x"));
        engine.applyBan(new BanRecord(SourceKey.parse("198.51.100.11"), since, since.plus(Duration.ofHours(4)), 1, "x"));
        assertThat(engine.stats().activeBans()).isEqualTo(2);
        assertThat(engine.isBanned(InetAddress.getByName("198.51.100.8"))).isFalse();
    }
}
