package org.tlsjail.bench.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.tlsjail.bench.engine.EngineBenchmarks.Figure;
import org.tlsjail.bench.report.RatioRow;
import org.tlsjail.bench.report.ReportPart;

/** The engine's JMH figures as ratios against ConcurrentHashMap.get, and as a table. */
public final class EngineReport implements ReportPart {
    /** Below this gc.alloc.rate.norm counts as no allocation (JMH's own bookkeeping shows as ~0.0x B/op). */
    static final double NO_ALLOCATION = 1.0;
    static final double IS_BANNED_TARGET = 1.5;
    /** IsBannedBenchmark's {@code source} parameter, as the report names it. */
    private static final java.util.Map<String, String> SOURCES = java.util.Map.of(
            "repeated", "repeated address", "fresh", "fresh address each call");

    private final List<Figure> figures;

    public EngineReport(List<Figure> figures) {
        this.figures = figures;
    }

    @Override
    public List<RatioRow> ratios() {
        List<RatioRow> rows = new ArrayList<>();
        for (String inet6 : List.of("in-place", "memo")) {
            // the memo rows are what an embedding without the launcher's --add-opens gets: shown, not judged
            boolean judged = inet6.equals("in-place");
            for (String family : judged ? List.of("v4", "v6") : List.of("v6")) {
                for (String bans : figures.stream().map(f -> f.param("bans")).filter(b -> !b.isEmpty()).distinct().sorted().toList()) {
                    for (String source : List.of("repeated", "fresh")) {
                        for (String kind : List.of("Miss", "Hit")) {
                            Optional<Figure> engine = find("engine" + kind, bans, family, source, inet6);
                            Optional<Figure> map = find("map" + kind, bans, family, source, inet6);
                            String what = String.format(Locale.ROOT, "`isBanned` %s, IPv%s, %s, %s bans%s",
                                    kind.toLowerCase(Locale.ROOT), family.substring(1), SOURCES.get(source), bans,
                                    judged ? "" : ", without `--add-opens java.base/java.net` (memo)");
                            if (engine.isPresent() && map.isPresent()) {
                                double ratio = engine.get().score() / map.get().score();
                                rows.add(new RatioRow(what + ": time vs `ConcurrentHashMap.get`",
                                        String.format(Locale.ROOT, "%.2fx (%.1f vs %.1f ns)", ratio, engine.get().score(), map.get().score()),
                                        judged ? "<= 1.5x" : null, judged ? ratio <= IS_BANNED_TARGET : null));
                            }
                            engine.ifPresent(f -> rows.add(new RatioRow(what + ": allocation",
                                    String.format(Locale.ROOT, "%.2f B/op", f.allocPerOp()), judged ? "0 B/op" : null,
                                    !judged || Double.isNaN(f.allocPerOp()) ? null : f.allocPerOp() < NO_ALLOCATION)));
                        }
                    }
                }
            }
        }
        find("systemClockMillis", "", "").ifPresent(f -> rows.add(new RatioRow(
                "One read of `InstantSource.system().millis()` (`isBanned` reads the sweeper's coarse clock instead)",
                String.format(Locale.ROOT, "%.1f ns", f.score()), null, null)));
        Optional<Figure> one = find("spray1Thread", "", "");
        Optional<Figure> two = find("spray2Threads", "", "");
        if (one.isPresent() && two.isPresent()) {
            rows.add(new RatioRow("`recordFailure` spray, 2 threads vs 1 thread (throughput)",
                    String.format(Locale.ROOT, "%.2fx (%,.0f vs %,.0f failures/s)", two.get().score() / one.get().score(),
                            two.get().score(), one.get().score()), null, null));
        }
        for (String threads : List.of("1Thread", "2Threads")) {
            Optional<Figure> table = findParam("spray" + threads, "tracker", "table");
            Optional<Figure> caffeine = findParam("spray" + threads, "tracker", "caffeine");
            if (table.isPresent() && caffeine.isPresent()) {
                double ratio = table.get().score() / caffeine.get().score();
                rows.add(new RatioRow(String.format(Locale.ROOT,
                        "Failure tracking under a spray, %s: primitive table vs the Caffeine tracker it replaced",
                        threads.replace("1Thread", "1 thread").replace("2Threads", "2 threads")),
                        String.format(Locale.ROOT, "%.2fx (%,.0f vs %,.0f failures/s; %.0f vs %.0f B allocated per failure)",
                                ratio, table.get().score(), caffeine.get().score(), table.get().allocPerOp(),
                                caffeine.get().allocPerOp()),
                        ">= 1x", ratio >= 1.0));
            }
        }
        for (String threads : List.of("1Thread", "8Threads")) {
            Optional<Figure> inline = findParam("ban" + threads, "journal", "inline");
            Optional<Figure> group = findParam("ban" + threads, "journal", "group");
            if (inline.isPresent() && group.isPresent()) {
                double ratio = group.get().score() / inline.get().score();
                rows.add(new RatioRow(String.format(Locale.ROOT,
                        "Bans/s with the journal fsyncing, %s: group commit vs write+fsync under the engine lock",
                        threads.replace("1Thread", "1 thread").replace("8Threads", "8 threads")),
                        String.format(Locale.ROOT, "%.2fx (%,.0f vs %,.0f bans/s)", ratio, group.get().score(),
                                inline.get().score()),
                        threads.equals("1Thread") ? ">= ~1x" : "> 1x", threads.equals("1Thread") ? ratio >= 0.8 : ratio > 1.0));
            }
        }
        figures.stream().filter(f -> f.benchmark().endsWith("JournalReplayBenchmark.replay")).findFirst()
                .ifPresent(f -> rows.add(new RatioRow(String.format(Locale.ROOT,
                        "Journal replay at start, %,d records (validated, compacted to max-bans)",
                        Integer.parseInt(f.param("records"))),
                        String.format(Locale.ROOT, "%,.0f ms, %,.0f B allocated per record", f.score(),
                                f.allocPerOp() / Integer.parseInt(f.param("records"))),
                        "a few seconds", f.score() < 5000)));
        return rows;
    }

    private Optional<Figure> findParam(String method, String param, String value) {
        return figures.stream().filter(f -> f.benchmark().endsWith("." + method))
                .filter(f -> f.param(param).equals(value)).findFirst();
    }

    @Override
    public String details() {
        StringBuilder sb = new StringBuilder("### Ban engine (JMH, 1 fork, `-prof gc`)\n\n");
        sb.append("| Benchmark | IP / journal | Bans | Threads | Score | ± 99.9% | Unit | Allocated B/op |\n");
        sb.append("|---|---|---|---|---|---|---|---|\n");
        for (Figure f : figures) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %d | %,.2f | %,.2f | %s | %.1f |%n",
                    f.benchmark(), (f.param("family") + " " + f.param("source") + (f.param("inet6").equals("memo") ? " memo" : "")).strip() + f.param("journal") + f.param("tracker"), f.param("bans"), f.threads(), f.score(),
                    Double.isNaN(f.error()) ? 0 : f.error(), f.unit(), f.allocPerOp()));
        }
        sb.append("\n`engine*` is `BanEngine.isBanned`, `map*` a `ConcurrentHashMap<InetAddress, Long>` holding the same bans, "
                + "probed with the same `InetAddress` objects from a pre-built array (the benchmark allocates nothing): `fresh` "
                + "cycles through " + IsBannedBenchmark.FRESH + " distinct addresses (IPv6 hits: distinct addresses inside "
                + "the banned /64s, a sprayer; IPv4 hits cycle through the banned addresses), `repeated` through "
                + IsBannedBenchmark.REPEATED + " distinct objects equal to one address (one source connecting again, a new "
                + "`InetAddress` per connection as accept makes). The engine reads an IPv6 address's bits in place, as the launcher "
                + "runs the daemon (`--add-opens java.base/java.net=ALL-UNNAMED`); the rows marked `memo` run without that flag "
                + "(`-Dtlsjail.inet6.in-place=false`), as an embedding application may: there an address new to the engine costs one "
                + "16-byte copy (`Inet6Address.getAddress()`) and a repeating one is served from the engine's memo of recent addresses. "
                + "`spray*` is `recordFailure` from a "
                + "never-seen source each call (the tracker is full after warm-up, so every call also evicts); "
                + "`addressOnly` is the cost of building that `InetAddress`, included in `spray*`. `systemClockMillis` is one "
                + "read of the system clock (`isBanned` compares with the coarse clock the sweeper keeps, as in the daemon). "
                + "`ban*` is `BanEngine.ban` with a journal on disk that every call waits for (`inline`: the old "
                + "write+fsync under the engine lock; `group`: group commit); `replay` one cold `BanJournal.open` of a "
                + "journal of `records` records. `FailureTableBenchmark` is the failure tracker alone under a spray, the new "
                + "table against a copy of the Caffeine tracker it replaced (bench-only baseline), same run.\n");
        return sb.toString();
    }

    private Optional<Figure> find(String method, String bans, String family) {
        return figures.stream()
                .filter(f -> f.benchmark().endsWith("." + method))
                .filter(f -> f.param("bans").equals(bans) && f.param("family").equals(family))
                .findFirst();
    }

    private Optional<Figure> find(String method, String bans, String family, String source, String inet6) {
        return figures.stream()
                .filter(f -> f.benchmark().endsWith("." + method))
                .filter(f -> f.param("bans").equals(bans) && f.param("family").equals(family) && f.param("source").equals(source)
                        && f.param("inet6").equals(inet6))
                .findFirst();
    }
}
