package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;

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
import net.jqwik.api.Tuple;

/**
 * The primitive failure table against a model too naive to be wrong (every failure's time in a
 * list per key), with keys chosen to collide in every way the packing could get wrong: an IPv4
 * source and the IPv6 /64 whose upper bits spell the same long, IPv6 /128s that differ only in
 * their lower 64 bits, one prefix under two prefix lengths; and histories longer than the two
 * times a slot holds inline (maxretry up to 12). The cap is above the number of keys, so nothing
 * is evicted and the answers must be exact.
 */
class FailureTrackerPropertyTest {
    private static final long FINDTIME = 600_000;

    /** Distinct keys that share bits. */
    static final List<SourceKey> KEYS = List.of(
            SourceKey.ofIpv4(0x0A00_0001, 32),
            SourceKey.ofIpv6(SourceKey.V4_MAPPED | 0x0A00_0001, 0, 64), // same long as the IPv4 key
            SourceKey.ofIpv6(0x2001_0db8_0000_0001L, 1, 128),
            SourceKey.ofIpv6(0x2001_0db8_0000_0001L, 2, 128), // differs only in the lower half
            SourceKey.ofIpv6(0x2001_0db8_0000_0001L, 0, 64), // the /64 holding both
            SourceKey.ofIpv6(0x2001_0db8_0000_0000L, 0, 48), // and a /48 with the same upper long
            SourceKey.ofIpv4(0x0A00_0000, 24), // the IPv4 /24 around the first key
            SourceKey.ofIpv6(0, 1, 128)); // ::1

    sealed interface Step permits Fail, Advance, Forget {
    }

    record Fail(int key, int weight) implements Step {
    }

    record Advance(long millis) implements Step {
    }

    record Forget(int key) implements Step {
    }

    @Provide
    Arbitrary<List<Step>> steps() {
        Arbitrary<Integer> key = Arbitraries.integers().between(0, KEYS.size() - 1);
        Arbitrary<Step> fail = Combinators.combine(key, Arbitraries.of(1, 1, 1, 1, 2, 3)).as(Fail::new);
        Arbitrary<Step> advance = Arbitraries.oneOf(
                Arbitraries.of(0L, 1L, FINDTIME, FINDTIME - 1, FINDTIME + 1, 3_600_000L),
                Arbitraries.longs().between(0, FINDTIME / 3)).map(Advance::new);
        Arbitrary<Step> forget = key.map(Forget::new);
        return Arbitraries.frequencyOf(Tuple.of(8, fail), Tuple.of(4, advance), Tuple.of(1, forget)).list().ofMaxSize(120);
    }

    @Provide
    Arbitrary<Integer> maxRetries() {
        return Arbitraries.of(1, 2, 3, 4, 5, 12);
    }

    @Property(tries = 500)
    void tableMatchesModel(@ForAll("steps") List<Step> steps, @ForAll("maxRetries") int maxRetry) {
        JailConfig config = JailConfig.builder().maxRetry(maxRetry).findTime(Duration.ofMillis(FINDTIME))
                .maxTrackedKeys(64).build();
        long now = 1_764_480_000_000L;
        FailureTracker table = new FailureTracker(config, now, 42);
        Map<Integer, List<Long>> model = new HashMap<>();
        for (Step step : steps) {
            if (step instanceof Fail f) {
                List<Long> times = model.computeIfAbsent(f.key(), k -> new ArrayList<>());
                for (int i = 0; i < f.weight(); i++) {
                    times.add(now);
                }
                long t = now;
                times.removeIf(x -> t - x > FINDTIME);
                boolean expected = times.size() >= maxRetry;
                if (expected) {
                    times.clear();
                }
                assertThat(table.add(KEYS.get(f.key()), f.weight(), now, config)).as("%s", step).isEqualTo(expected);
            } else if (step instanceof Advance a) {
                now += a.millis();
                if (a.millis() % 3 == 0) {
                    table.sweep(now, FINDTIME);
                }
            } else if (step instanceof Forget g) {
                model.remove(g.key());
                table.forget(KEYS.get(g.key()));
            }
            long tnow = now;
            int live = 0;
            for (int k = 0; k < KEYS.size(); k++) {
                long expected = model.getOrDefault(k, List.of()).stream().filter(x -> tnow - x <= FINDTIME).count();
                assertThat(table.failures(KEYS.get(k), now, FINDTIME)).as("failures of %s after %s", KEYS.get(k), step)
                        .isEqualTo((int) expected);
                live += expected > 0 ? 1 : 0;
            }
            assertThat(table.size()).isGreaterThanOrEqualTo(live).isLessThanOrEqualTo(KEYS.size());
        }
        assertThat(table.evictions()).isZero();
    }
}
