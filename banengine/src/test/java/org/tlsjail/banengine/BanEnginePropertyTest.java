package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The engine against a model that is too naive to be wrong: every failure's timestamp kept in a
 * list per source, bans as a map of end times, the increment formula written out again.
 */
class BanEnginePropertyTest {
    private static final long FINDTIME = 600_000;
    private static final long BANTIME = 3_600_000;
    private static final long REMEMBER = 86_400_000;
    private static final int SOURCES = 4;

    sealed interface Step permits Fail, Ban, Unban, Advance {
    }

    record Fail(int source, int weight) implements Step {
    }

    record Ban(int source, long millis) implements Step {
    }

    record Unban(int source) implements Step {
    }

    record Advance(long millis) implements Step {
    }

    @Provide
    Arbitrary<List<Step>> steps() {
        Arbitrary<Integer> src = Arbitraries.integers().between(0, SOURCES - 1);
        Arbitrary<Step> fail = Combinators.combine(src, Arbitraries.of(1, 1, 1, 2, 3))
                .as(Fail::new);
        Arbitrary<Step> ban = Combinators.combine(src, Arbitraries.of(-1L, 0L, 60_000L, BANTIME * 3)).as(Ban::new);
        Arbitrary<Step> unban = src.map(Unban::new);
        Arbitrary<Step> advance = Arbitraries.oneOf(
                Arbitraries.of(1L, FINDTIME, FINDTIME - 1, FINDTIME + 1, BANTIME, BANTIME - 1, REMEMBER),
                Arbitraries.longs().between(0, 2 * BANTIME)).map(Advance::new);
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(6, fail), net.jqwik.api.Tuple.of(1, ban),
                net.jqwik.api.Tuple.of(1, unban), net.jqwik.api.Tuple.of(4, advance)).list().ofMaxSize(80);
    }

    @Property(tries = 400)
    void engineMatchesModel(@ForAll("steps") List<Step> steps, @ForAll boolean increment,
                            @ForAll("maxRetries") int maxRetry) {
        ManualClock clock = new ManualClock();
        BanTimeIncrement inc = increment
                ? new BanTimeIncrement(true, 1.0, Duration.ofHours(8), List.of(), Duration.ofMillis(REMEMBER))
                : BanTimeIncrement.OFF;
        JailConfig config = JailConfig.builder().maxRetry(maxRetry).findTime(Duration.ofMillis(FINDTIME))
                .banTime(Duration.ofMillis(BANTIME)).increment(inc).ignoreIp(List.of("10.0.0.3")).build();
        BanEngine engine = new BanEngine(config, clock);
        Model model = new Model(maxRetry, inc);

        for (Step step : steps) {
            long now = clock.millis();
            if (step instanceof Fail f) {
                FailureOutcome expected = model.fail(f.source(), f.weight(), now);
                assertThat(engine.recordFailure(Ips.v4(f.source()), f.weight(), "t")).as(step.toString()).isEqualTo(expected);
            } else if (step instanceof Ban b) {
                if (b.source() == 3 || b.millis() == 0) {
                    continue; // ignored source / invalid duration: covered by unit tests
                }
                model.ban(b.source(), b.millis(), now);
                engine.ban(Ips.v4(b.source()), b.millis() < 0 ? FailDuration.PERMANENT : Duration.ofMillis(b.millis()), null);
            } else if (step instanceof Unban u) {
                assertThat(engine.unban(Ips.v4(u.source()))).isEqualTo(model.unban(u.source(), now));
            } else if (step instanceof Advance a) {
                clock.advanceMillis(a.millis());
                if (a.millis() % 2 == 0) {
                    engine.expireDue();
                }
            }
            for (int s = 0; s < SOURCES; s++) {
                InetAddress ip = Ips.v4(s);
                assertThat(engine.isBanned(ip)).as("isBanned(%s) after %s", s, step).isEqualTo(model.isBanned(s, clock.millis()));
            }
        }
    }

    @Provide
    Arbitrary<Integer> maxRetries() {
        return Arbitraries.of(1, 2, 3, 5);
    }

    static final class Model {
        final int maxRetry;
        final BanTimeIncrement inc;
        final Map<Integer, List<Long>> failures = new HashMap<>();
        final Map<Integer, Long> banUntil = new HashMap<>();
        final Map<Integer, Integer> banCount = new HashMap<>();
        final Map<Integer, Long> lastBanAt = new HashMap<>();

        Model(int maxRetry, BanTimeIncrement inc) {
            this.maxRetry = maxRetry;
            this.inc = inc;
        }

        boolean isBanned(int s, long now) {
            Long until = banUntil.get(s);
            return until != null && until > now;
        }

        FailureOutcome fail(int s, int weight, long now) {
            if (s == 3) {
                return FailureOutcome.IGNORED;
            }
            if (isBanned(s, now)) {
                return FailureOutcome.ALREADY_BANNED;
            }
            List<Long> times = failures.computeIfAbsent(s, k -> new ArrayList<>());
            for (int i = 0; i < weight; i++) {
                times.add(now);
            }
            long inWindow = times.stream().filter(t -> now - t <= FINDTIME).count();
            if (inWindow >= maxRetry) {
                times.clear();
                int earlier = earlier(s, now);
                long length = inc.enabled() ? Math.min(BANTIME << Math.min(earlier, 20), inc.maxTime().toMillis()) : BANTIME;
                banUntil.put(s, now + length);
                remember(s, earlier, now);
                return FailureOutcome.BANNED;
            }
            return FailureOutcome.COUNTED;
        }

        void ban(int s, long millis, long now) {
            int earlier = earlier(s, now);
            banUntil.put(s, millis < 0 ? Long.MAX_VALUE : now + millis);
            failures.remove(s);
            remember(s, earlier, now);
        }

        boolean unban(int s, long now) {
            Long until = banUntil.remove(s);
            return until != null && until > now;
        }

        private int earlier(int s, long now) {
            Long at = lastBanAt.get(s);
            return at == null || now - at >= REMEMBER ? 0 : banCount.get(s);
        }

        private void remember(int s, int earlier, long now) {
            banCount.put(s, earlier + 1);
            lastBanAt.put(s, now);
        }
    }
}
