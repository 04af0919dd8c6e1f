package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Many threads, overlapping sources, a frozen clock: every count and every event must be exact. */
class BanEngineConcurrencyTest {
    private static final int THREADS = 8;
    private static final int SOURCES = 200;
    private static final int FAILURES_PER_THREAD_PER_SOURCE = 5;

    @Test
    void countsBansAndEventsAreExact() throws Exception {
        ManualClock clock = new ManualClock();
        BanEngine engine = new BanEngine(JailConfig.builder().maxRetry(7).build(), clock);
        Map<SourceKey, AtomicInteger> bansHeard = new ConcurrentHashMap<>();
        List<String> order = java.util.Collections.synchronizedList(new ArrayList<>());
        engine.addListener(new BanListener() {
            @Override
            public void onBan(BanRecord ban) {
                bansHeard.computeIfAbsent(ban.key(), k -> new AtomicInteger()).incrementAndGet();
                order.add("B" + ban.key());
            }

            @Override
            public void onUnban(BanRecord ban, UnbanCause cause) {
                order.add("U" + ban.key());
            }
        });

        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Map<FailureOutcome, Integer>>> results = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            final int offset = t;
            results.add(pool.submit(() -> {
                Map<FailureOutcome, Integer> seen = new EnumMap<>(FailureOutcome.class);
                start.await();
                for (int i = 0; i < FAILURES_PER_THREAD_PER_SOURCE; i++) {
                    for (int s = 0; s < SOURCES; s++) {
                        InetAddress ip = Ips.v4((s + offset * 7) % SOURCES);
                        seen.merge(engine.recordFailure(ip), 1, Integer::sum);
                        engine.isBanned(ip);
                    }
                }
                return seen;
            }));
        }
        start.countDown();
        Map<FailureOutcome, Integer> total = new EnumMap<>(FailureOutcome.class);
        for (Future<Map<FailureOutcome, Integer>> f : results) {
            f.get().forEach((k, v) -> total.merge(k, v, Integer::sum));
        }
        pool.shutdown();

        // 40 failures per source, maxretry 7: every source is banned exactly once, at once.
        assertThat(total.get(FailureOutcome.BANNED)).isEqualTo(SOURCES);
        assertThat(bansHeard).hasSize(SOURCES).allSatisfy((k, n) -> assertThat(n.get()).isEqualTo(1));
        EngineStats s = engine.stats();
        assertThat(s.bans()).isEqualTo(SOURCES);
        assertThat(s.activeBans()).isEqualTo(SOURCES);
        assertThat(s.failures()).isEqualTo(total.getOrDefault(FailureOutcome.COUNTED, 0) + SOURCES);
        assertThat(total.values().stream().mapToInt(Integer::intValue).sum())
                .isEqualTo(THREADS * SOURCES * FAILURES_PER_THREAD_PER_SOURCE);
        for (int src = 0; src < SOURCES; src++) {
            assertThat(engine.isBanned(Ips.v4(src))).isTrue();
        }

        // Concurrent unbans and re-bans: listeners hear every event, in a consistent order per key.
        ExecutorService pool2 = Executors.newFixedThreadPool(THREADS);
        List<Future<?>> jobs = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            final int offset = t;
            jobs.add(pool2.submit(() -> {
                for (int src = offset; src < SOURCES; src += THREADS) {
                    engine.unban(Ips.v4(src));
                    engine.ban(Ips.v4(src), java.time.Duration.ofMinutes(5), "again");
                }
            }));
        }
        for (Future<?> j : jobs) {
            j.get();
        }
        pool2.shutdown();
        assertThat(order.stream().filter(e -> e.startsWith("U"))).hasSize(SOURCES);
        assertThat(order.stream().filter(e -> e.startsWith("B"))).hasSize(2 * SOURCES);
        for (int src = 0; src < SOURCES; src++) {
            String key = Ips.v4(src).getHostAddress();
            List<String> forKey = order.stream().filter(e -> e.substring(1).equals(key)).toList();
            assertThat(forKey).containsExactly("B" + key, "U" + key, "B" + key);
        }
    }
}
