package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.tlsjail.banengine.Ips.ip;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Event sequences and the decisions they must produce, one behaviour a test. */
class BanEngineTest {
    private final ManualClock clock = new ManualClock();
    private static final InetAddress A = ip("192.0.2.1");
    private static final InetAddress B = ip("192.0.2.2");

    private BanEngine engine(JailConfig.Builder b) {
        return new BanEngine(b.build(), clock);
    }

    private BanEngine defaults() {
        return engine(JailConfig.builder());
    }

    @Test
    void defaultsAreOs4xJail() {
        JailConfig c = JailConfig.defaults();
        assertThat(c.maxRetry()).isEqualTo(3);
        assertThat(c.findTime()).isEqualTo(Duration.ofSeconds(600));
        assertThat(c.banTime()).isEqualTo(Duration.ofSeconds(3600));
        assertThat(c.ipv4Prefix()).isEqualTo(32);
        assertThat(c.ipv6Prefix()).isEqualTo(64);
    }

    @Test
    void thirdFailureWithinFindtimeBans() {
        BanEngine e = defaults();
        assertThat(e.recordFailure(A)).isEqualTo(FailureOutcome.COUNTED);
        clock.advance(Duration.ofSeconds(100));
        assertThat(e.recordFailure(A)).isEqualTo(FailureOutcome.COUNTED);
        assertThat(e.isBanned(A)).isFalse();
        clock.advance(Duration.ofSeconds(100));
        assertThat(e.recordFailure(A)).isEqualTo(FailureOutcome.BANNED);
        assertThat(e.isBanned(A)).isTrue();
        assertThat(e.isBanned(B)).isFalse();
        assertThat(e.recordFailure(A)).isEqualTo(FailureOutcome.ALREADY_BANNED);
    }

    @Test
    void failureExactlyFindtimeOldStillCounts() {
        BanEngine e = defaults();
        e.recordFailure(A);
        clock.advance(Duration.ofSeconds(300));
        e.recordFailure(A);
        clock.advance(Duration.ofSeconds(300)); // first failure is now exactly 600 s old
        assertThat(e.recordFailure(A)).isEqualTo(FailureOutcome.BANNED);
    }

    @Test
    void failureOneMillisecondPastFindtimeIsForgotten() {
        BanEngine e = defaults();
        e.recordFailure(A);
        clock.advance(Duration.ofSeconds(300));
        e.recordFailure(A);
        clock.advance(Duration.ofSeconds(300).plusMillis(1));
        assertThat(e.recordFailure(A)).isEqualTo(FailureOutcome.COUNTED);
        clock.advance(Duration.ofSeconds(1));
        assertThat(e.recordFailure(A)).isEqualTo(FailureOutcome.BANNED);
    }

    @Test
    void strictWindowDiffersFromFail2BanRateRescaling() {
        // Fail2Ban (maxretry 5, findtime 600) bans failures at 0,100,200,300,899,900 s; a strict
        // window never holds five of them.
        BanEngine e = engine(JailConfig.builder().maxRetry(5));
        long last = 0;
        List<FailureOutcome> outcomes = new ArrayList<>();
        for (long t : new long[] {0, 100, 200, 300, 899, 900}) {
            clock.advance(Duration.ofSeconds(t - last));
            last = t;
            outcomes.add(e.recordFailure(A));
        }
        assertThat(outcomes).doesNotContain(FailureOutcome.BANNED);
    }

    @Test
    void banEndsExactlyAtBantime() {
        BanEngine e = engine(JailConfig.builder().maxRetry(1));
        e.recordFailure(A);
        clock.advance(Duration.ofSeconds(3600).minusMillis(1));
        assertThat(e.isBanned(A)).isTrue();
        clock.advanceMillis(1);
        assertThat(e.isBanned(A)).isFalse();
    }

    @Test
    void reOffenceAfterExpiryNeedsMaxretryFreshFailures() {
        BanEngine e = defaults();
        for (int i = 0; i < 3; i++) {
            e.recordFailure(A);
        }
        clock.advance(Duration.ofHours(1));
        assertThat(e.expireDue()).isEqualTo(1);
        assertThat(e.recordFailure(A)).isEqualTo(FailureOutcome.COUNTED);
        assertThat(e.recordFailure(A)).isEqualTo(FailureOutcome.COUNTED);
        assertThat(e.recordFailure(A)).isEqualTo(FailureOutcome.BANNED);
    }

    @Test
    void permanentBanNeverEnds() {
        BanEngine e = engine(JailConfig.builder().maxRetry(1).banTime(FailDuration.PERMANENT));
        e.recordFailure(A);
        clock.advance(Duration.ofDays(3650));
        assertThat(e.expireDue()).isZero();
        assertThat(e.isBanned(A)).isTrue();
        assertThat(e.banned()).singleElement().satisfies(r -> assertThat(r.isPermanent()).isTrue());
    }

    @Test
    void weightCountsAsSeveralFailures() {
        BanEngine e = defaults();
        assertThat(e.recordFailure(A, 2, "http request")).isEqualTo(FailureOutcome.COUNTED);
        assertThat(e.recordFailure(A, 1, "http request")).isEqualTo(FailureOutcome.BANNED);
        assertThat(e.recordFailure(B, 3, "x")).isEqualTo(FailureOutcome.BANNED);
        assertThat(e.banOf(B).reason()).isEqualTo("x");
    }

    @Test
    void incrementDoublesUpToMaxtime() {
        BanTimeIncrement inc = new BanTimeIncrement(true, 1.0, Duration.ofHours(6), List.of(), Duration.ofDays(7));
        BanEngine e = engine(JailConfig.builder().maxRetry(1).increment(inc));
        List<Duration> lengths = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            e.recordFailure(A);
            BanRecord r = e.banOf(A);
            lengths.add(Duration.between(r.since(), r.until()));
            clock.advance(Duration.between(r.since(), r.until()));
            e.expireDue();
        }
        assertThat(lengths).containsExactly(Duration.ofHours(1), Duration.ofHours(2), Duration.ofHours(4),
                Duration.ofHours(6), Duration.ofHours(6));
    }

    @Test
    void multipliersReplaceTheFormula() {
        BanTimeIncrement inc = new BanTimeIncrement(true, 1.0, Duration.ofDays(7), List.of(1.0, 5.0, 30.0),
                Duration.ofDays(7));
        BanEngine e = engine(JailConfig.builder().maxRetry(1).banTime(Duration.ofMinutes(10)).increment(inc));
        List<Duration> lengths = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            e.recordFailure(A);
            BanRecord r = e.banOf(A);
            lengths.add(Duration.between(r.since(), r.until()));
            clock.advance(Duration.between(r.since(), r.until()));
        }
        assertThat(lengths).containsExactly(Duration.ofMinutes(10), Duration.ofMinutes(50), Duration.ofMinutes(300),
                Duration.ofMinutes(300));
    }

    @Test
    void earlierBansAreForgottenAfterRemember() {
        BanTimeIncrement inc = new BanTimeIncrement(true, 1.0, Duration.ofDays(7), List.of(), Duration.ofDays(1));
        BanEngine e = engine(JailConfig.builder().maxRetry(1).increment(inc));
        e.recordFailure(A);
        clock.advance(Duration.ofDays(1));
        e.expireDue();
        e.recordFailure(A);
        BanRecord r = e.banOf(A);
        assertThat(r.banCount()).isEqualTo(1);
        assertThat(Duration.between(r.since(), r.until())).isEqualTo(Duration.ofHours(1));
    }

    @Test
    void ipv6IsAggregatedToItsSlash64() {
        BanEngine e = defaults();
        e.recordFailure(ip("2001:db8:1:2::1"));
        e.recordFailure(ip("2001:db8:1:2:aaaa::2"));
        assertThat(e.recordFailure(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))).isEqualTo(FailureOutcome.BANNED);
        assertThat(e.isBanned(ip("2001:db8:1:2:1234::99"))).isTrue();
        assertThat(e.isBanned(ip("2001:db8:1:3::1"))).isFalse();
        assertThat(e.banned()).singleElement().satisfies(r -> assertThat(r.key()).hasToString("2001:db8:1:2::/64"));
    }

    @Test
    void ipv6PrefixIsConfigurable() {
        BanEngine e = engine(JailConfig.builder().maxRetry(1).ipv6Prefix(128));
        e.recordFailure(ip("2001:db8::1"));
        assertThat(e.isBanned(ip("2001:db8::1"))).isTrue();
        assertThat(e.isBanned(ip("2001:db8::2"))).isFalse();
    }

    @Test
    void ipv4PrefixIsConfigurable() {
        BanEngine e = engine(JailConfig.builder().maxRetry(1).ipv4Prefix(24));
        e.recordFailure(ip("198.51.100.7"));
        assertThat(e.isBanned(ip("198.51.100.200"))).isTrue();
        assertThat(e.isBanned(ip("198.51.101.7"))).isFalse();
        assertThat(e.banned().get(0).key()).hasToString("198.51.100.0/24");
    }

    @Test
    void ipv4MappedIpv6IsTheIpv4Address() {
        BanEngine e = defaults();
        e.recordFailure(ip("::ffff:192.0.2.1"));
        e.recordFailure(A);
        assertThat(e.recordFailure(ip("::ffff:192.0.2.1"))).isEqualTo(FailureOutcome.BANNED);
        assertThat(e.isBanned(A)).isTrue();
        assertThat(e.banned().get(0).key()).hasToString("192.0.2.1");
    }

    @Test
    void ignoreipIsNeverCountedNorBanned() {
        BanEngine e = engine(JailConfig.builder().maxRetry(1).ignoreIp(List.of("192.0.2.0/24", "2001:db8::/32", "127.0.0.1")));
        assertThat(e.recordFailure(A)).isEqualTo(FailureOutcome.IGNORED);
        assertThat(e.recordFailure(ip("2001:db8:5::1"))).isEqualTo(FailureOutcome.IGNORED);
        assertThat(e.recordFailure(ip("::ffff:127.0.0.1"))).isEqualTo(FailureOutcome.IGNORED);
        assertThat(e.recordFailure(ip("198.51.100.1"))).isEqualTo(FailureOutcome.BANNED);
        assertThat(e.isBanned(A)).isFalse();
        assertThatThrownBy(() -> e.ban(A, null, "manual"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("192.0.2.1").hasMessageContaining("ignoreip");
        assertThat(e.stats().failures()).isEqualTo(1);
    }

    /**
     * The attacker's trick: fail from the partner's own ban unit (a neighbour in its /64, or in
     * its block with ipv4-prefix 24) so that the unit's ban refuses the partner too.
     */
    @Test
    void anIgnoredAddressStaysInWhenANeighbourGetsItsUnitBanned() {
        BanEngine e = engine(JailConfig.builder().maxRetry(1).ipv4Prefix(24)
                .ignoreIp(List.of("198.51.100.5", "2001:db8:1:2::10", "203.0.113.0/24")));
        assertThat(e.recordFailure(ip("2001:db8:1:2::66"))).isEqualTo(FailureOutcome.BANNED);
        assertThat(e.recordFailure(ip("198.51.100.66"))).isEqualTo(FailureOutcome.BANNED);
        assertThat(e.isBanned(ip("2001:db8:1:2::66"))).isTrue();
        assertThat(e.isBanned(ip("2001:db8:1:2::11"))).isTrue();
        assertThat(e.isBanned(ip("198.51.100.6"))).isTrue();
        assertThat(e.isBanned(ip("2001:db8:1:2::10"))).as("the ignored neighbour").isFalse();
        assertThat(e.isBanned(ip("198.51.100.5"))).as("the ignored neighbour").isFalse();
        assertThat(e.isBanned(ip("::ffff:198.51.100.5"))).isFalse();
        // the same after a reload that narrows ignoreip: the partner is then banned with its unit
        e.reconfigure(e.config().toBuilder().ignoreIp(List.of("2001:db8:1:2::10")).build());
        assertThat(e.isBanned(ip("198.51.100.5"))).isTrue();
        assertThat(e.isBanned(ip("2001:db8:1:2::10"))).isFalse();
    }

    @Test
    void malformedIgnoreipEntryIsNamed() {
        assertThatThrownBy(() -> JailConfig.builder().ignoreIp(List.of("10.0.0.0/8", "10.0.0/8")).build())
                .hasMessageContaining("jail.ignoreip").hasMessageContaining("'10.0.0/8'");
        assertThatThrownBy(() -> JailConfig.builder().ignoreIp(List.of("example.com")).build())
                .hasMessageContaining("'example.com'");
        assertThatThrownBy(() -> JailConfig.builder().ignoreIp(List.of("10.0.0.0/33")).build())
                .hasMessageContaining("'10.0.0.0/33'");
    }

    @Test
    void invalidOptionsFailFastNamingOptionAndValue() {
        assertThatThrownBy(() -> JailConfig.builder().maxRetry(0).build()).hasMessage("jail.maxretry must be at least 1, got 0");
        assertThatThrownBy(() -> JailConfig.builder().findTime(Duration.ZERO).build()).hasMessageContaining("jail.findtime");
        assertThatThrownBy(() -> JailConfig.builder().banTime(Duration.ofSeconds(-5)).build())
                .hasMessageContaining("jail.bantime").hasMessageContaining("-5");
        assertThatThrownBy(() -> JailConfig.builder().ipv6Prefix(8).build()).hasMessageContaining("jail.ipv6-prefix").hasMessageContaining("8");
        assertThatThrownBy(() -> new BanTimeIncrement(true, 0, Duration.ofHours(1), List.of(), Duration.ofDays(1)))
                .hasMessageContaining("jail.bantime-increment.factor");
    }

    @Test
    void manualBanAndUnban() {
        BanEngine e = defaults();
        BanRecord r = e.ban(A, Duration.ofMinutes(5), "manual");
        assertThat(r.until()).isEqualTo(clock.instant().plus(Duration.ofMinutes(5)));
        assertThat(e.isBanned(A)).isTrue();
        assertThat(e.unban(A)).isTrue();
        assertThat(e.isBanned(A)).isFalse();
        assertThat(e.unban(A)).isFalse();
        e.ban(A, FailDuration.PERMANENT, null);
        e.ban(B, null, null);
        assertThat(e.banOf(B).until()).isEqualTo(clock.instant().plus(Duration.ofHours(1)));
        assertThat(e.unbanAll()).isEqualTo(2);
        assertThat(e.banned()).isEmpty();
        EngineStats s = e.stats();
        assertThat(s.bans()).isEqualTo(3);
        assertThat(s.unbans()).isEqualTo(3);
        assertThat(s.activeBans()).isZero();
    }

    @Test
    void listenersHearBansUnbansAndExpiryWithoutTraffic() {
        BanEngine e = engine(JailConfig.builder().maxRetry(1));
        List<String> events = new ArrayList<>();
        e.addListener(new BanListener() {
            @Override
            public void onBan(BanRecord ban) {
                throw new IllegalStateException("a broken listener");
            }

            @Override
            public void onUnban(BanRecord ban, UnbanCause cause) {
                throw new IllegalStateException("a broken listener");
            }
        });
        e.addListener(new BanListener() {
            @Override
            public void onBan(BanRecord ban) {
                events.add("ban " + ban.key());
            }

            @Override
            public void onUnban(BanRecord ban, UnbanCause cause) {
                events.add("unban " + ban.key() + " " + cause);
            }
        });
        e.recordFailure(A);
        e.ban(B, Duration.ofMinutes(1), null);
        e.unban(B);
        clock.advance(Duration.ofHours(1));
        e.expireDue();
        assertThat(events).containsExactly("ban 192.0.2.1", "ban 192.0.2.2", "unban 192.0.2.2 MANUAL",
                "unban 192.0.2.1 EXPIRED");
    }

    @Test
    void banTableCapDropsTheBanEndingSoonest() {
        BanEngine e = engine(JailConfig.builder().maxRetry(1).maxBans(2));
        List<String> dropped = new ArrayList<>();
        e.addListener(new BanListener() {
            @Override
            public void onBan(BanRecord ban) {
            }

            @Override
            public void onUnban(BanRecord ban, UnbanCause cause) {
                dropped.add(ban.key() + " " + cause);
            }
        });
        e.ban(ip("192.0.2.10"), Duration.ofMinutes(10), null);
        e.ban(ip("192.0.2.11"), Duration.ofMinutes(5), null);
        e.ban(ip("192.0.2.12"), Duration.ofMinutes(30), null);
        assertThat(dropped).containsExactly("192.0.2.11 DROPPED");
        assertThat(e.stats().bansDropped()).isEqualTo(1);
        assertThat(e.isBanned(ip("192.0.2.10"))).isTrue();
        assertThat(e.isBanned(ip("192.0.2.12"))).isTrue();
        e.ban(ip("192.0.2.13"), Duration.ofMinutes(1), null); // ends soonest itself
        assertThat(e.isBanned(ip("192.0.2.13"))).isFalse();
        assertThat(e.stats().activeBans()).isEqualTo(2);
    }

    @Test
    void failureTrackingIsCappedButNeverEvictsBans() {
        BanEngine e = engine(JailConfig.builder().maxTrackedKeys(100).maxRetry(2));
        e.recordFailure(A);
        e.recordFailure(A);
        for (int i = 0; i < 10_000; i++) {
            e.recordFailure(Ips.v4(i));
        }
        e.expireDue();
        EngineStats s = e.stats();
        assertThat(s.trackedKeys()).isLessThanOrEqualTo(100);
        assertThat(s.evictions()).isGreaterThan(0);
        assertThat(e.isBanned(A)).isTrue();
    }

    @Test
    void reconfigureKeepsBansAndAppliesNewThresholds() {
        BanEngine e = defaults();
        e.ban(A, null, null);
        e.recordFailure(B);
        e.reconfigure(JailConfig.builder().maxRetry(2).build());
        assertThat(e.isBanned(A)).isTrue();
        assertThat(e.recordFailure(B)).isEqualTo(FailureOutcome.BANNED);
    }

    @Test
    void restoreKeepsOriginalTimesAndSkipsEnded() {
        BanEngine e = defaults();
        SourceKey key = SourceKey.parse("192.0.2.1");
        assertThat(e.restore(new BanRecord(key, clock.instant().minusSeconds(100), clock.instant().plusSeconds(50), 2, "x"))).isTrue();
        assertThat(e.restore(new BanRecord(SourceKey.parse("192.0.2.2"), clock.instant().minusSeconds(100),
                clock.instant(), 1, "x"))).isFalse();
        assertThat(e.isBanned(A)).isTrue();
        assertThat(e.isBanned(B)).isFalse();
        assertThat(e.banOf(A).until()).isEqualTo(clock.instant().plusSeconds(50));
    }

    @Test
    void reBanBeforeTheSweepSurvivesTheSweep() {
        // found by the property test: the ended ban and its successor shared a key in the expiry index
        BanEngine e = engine(JailConfig.builder().maxRetry(1));
        e.recordFailure(A);
        clock.advance(Duration.ofHours(1));
        assertThat(e.recordFailure(A)).isEqualTo(FailureOutcome.BANNED);
        clock.advance(Duration.ofMinutes(10));
        e.expireDue();
        assertThat(e.isBanned(A)).isTrue();
        assertThat(e.banned()).hasSize(1);
    }

    @Test
    void unbanOfAnEndedButUnsweptBanReportsNoBan() {
        BanEngine e = defaults();
        e.ban(A, Duration.ofMinutes(1), null);
        clock.advance(Duration.ofMinutes(2));
        assertThat(e.unban(A)).isFalse();
        assertThat(e.stats().activeBans()).isZero();
    }

    @Test
    void failuresCountsTheSourcesBanUnitWithinTheWindow() {
        BanEngine e = engine(JailConfig.builder().maxRetry(3));
        assertThat(e.failures(ip("2001:db8:1:2::1"))).isZero();
        e.recordFailure(ip("2001:db8:1:2::1"));
        clock.advance(Duration.ofMinutes(5));
        e.recordFailure(ip("2001:db8:1:2::99")); // same /64
        assertThat(e.failures(ip("2001:db8:1:2::abcd"))).isEqualTo(2);
        assertThat(e.failures(ip("2001:db8:1:3::1"))).isZero();
        clock.advance(Duration.ofMinutes(5).plusMillis(1)); // the first has left the window
        assertThat(e.failures(ip("2001:db8:1:2::1"))).isEqualTo(1);
        e.recordFailure(ip("2001:db8:1:2::1"));
        e.recordFailure(ip("2001:db8:1:2::1"));
        assertThat(e.isBanned(ip("2001:db8:1:2::1"))).isTrue();
        assertThat(e.failures(ip("2001:db8:1:2::1"))).isZero(); // the ban started a new count
    }
}
