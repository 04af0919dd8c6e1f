package org.tlsjail.bench.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.tlsjail.bench.engine.EngineBenchmarks.Figure;
import org.tlsjail.bench.report.RatioRow;

/**
 * The isBanned rows: one per family, table size, probe kind and hit/miss, each judged against its
 * own baseline; the IPv6 rows measured without the launcher's --add-opens (the memo) shown, not judged.
 */
class EngineReportTest {
    private static Figure f(String method, String family, String source, double ns, double bytes) {
        return f(method, family, source, ns, bytes, "in-place");
    }

    private static Figure f(String method, String family, String source, double ns, double bytes, String inet6) {
        return new Figure("IsBannedBenchmark." + method, Map.of("bans", "1000", "family", family, "source", source,
                "inet6", inet6), 1, ns, 0.1, "ns/op", bytes);
    }

    @Test
    void repeatedAndFreshIpv6RowsCompareWithTheMapOfTheSameRun() {
        List<Figure> figures = new ArrayList<>();
        for (String source : List.of("repeated", "fresh")) {
            boolean fresh = source.equals("fresh");
            figures.add(f("engineMiss", "v6", source, fresh ? 30 : 12, fresh ? 32 : 0));
            figures.add(f("engineHit", "v6", source, fresh ? 40 : 14, fresh ? 32 : 0));
            figures.add(f("mapMiss", "v6", source, 10, 0));
            figures.add(f("mapHit", "v6", source, 10, 0));
        }
        figures.add(f("engineHit", "v6", "fresh", 60, 32, "memo"));
        figures.add(f("mapHit", "v6", "fresh", 30, 0, "memo"));
        figures.add(f("engineMiss", "v4", "fresh", 5, 0));
        figures.add(f("mapMiss", "v4", "fresh", 5, 0));
        List<RatioRow> rows = new EngineReport(figures).ratios();

        assertThat(rows).extracting(RatioRow::what).containsSubsequence(
                "`isBanned` miss, IPv4, fresh address each call, 1000 bans: time vs `ConcurrentHashMap.get`",
                "`isBanned` miss, IPv4, fresh address each call, 1000 bans: allocation",
                "`isBanned` miss, IPv6, repeated address, 1000 bans: time vs `ConcurrentHashMap.get`",
                "`isBanned` miss, IPv6, repeated address, 1000 bans: allocation",
                "`isBanned` hit, IPv6, repeated address, 1000 bans: time vs `ConcurrentHashMap.get`",
                "`isBanned` hit, IPv6, repeated address, 1000 bans: allocation",
                "`isBanned` miss, IPv6, fresh address each call, 1000 bans: time vs `ConcurrentHashMap.get`",
                "`isBanned` hit, IPv6, fresh address each call, 1000 bans: allocation");
        assertThat(row(rows, "hit, IPv6, repeated address, 1000 bans: time").value()).isEqualTo("1.40x (14.0 vs 10.0 ns)");
        assertThat(row(rows, "hit, IPv6, repeated address, 1000 bans: time").met()).isTrue();
        assertThat(row(rows, "hit, IPv6, repeated address, 1000 bans: allocation").met()).isTrue();
        assertThat(row(rows, "hit, IPv6, fresh address each call, 1000 bans: time").met()).isFalse();
        assertThat(row(rows, "hit, IPv6, fresh address each call, 1000 bans: allocation").value()).isEqualTo("32.00 B/op");
        assertThat(row(rows, "hit, IPv6, fresh address each call, 1000 bans: allocation").met()).isFalse();
        RatioRow memo = row(rows, "hit, IPv6, fresh address each call, 1000 bans, without `--add-opens java.base/java.net` (memo): time");
        assertThat(memo.value()).isEqualTo("2.00x (60.0 vs 30.0 ns)");
        assertThat(memo.met()).isNull();
        assertThat(memo.target()).isNull();
    }

    private static RatioRow row(List<RatioRow> rows, String part) {
        return rows.stream().filter(r -> r.what().contains(part)).findFirst().orElseThrow();
    }
}
