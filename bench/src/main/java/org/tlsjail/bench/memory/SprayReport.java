package org.tlsjail.bench.memory;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.tlsjail.bench.report.RatioRow;
import org.tlsjail.bench.report.ReportPart;

/** Retained heap per tracked key and the cap under an address spray. */
public final class SprayReport implements ReportPart {
    static final double BYTES_PER_KEY_TARGET = 48;

    private final List<SprayRun.Result> results;

    public SprayReport(List<SprayRun.Result> results) {
        this.results = results;
    }

    @Override
    public List<RatioRow> ratios() {
        List<RatioRow> rows = new ArrayList<>();
        for (SprayRun.Result r : results) {
            if (r.sources() <= r.maxTracked()) {
                rows.add(new RatioRow(String.format(Locale.ROOT, "Retained heap per tracked key, %,d sources (cap %,d)",
                        r.sources(), r.maxTracked()), String.format(Locale.ROOT, "%.1f B", r.bytesPerTrackedKey()),
                        "<= 48 B", r.bytesPerTrackedKey() <= BYTES_PER_KEY_TARGET));
            } else {
                rows.add(new RatioRow(String.format(Locale.ROOT, "Cap under a spray of %,d sources (cap %,d): tracked keys; bans kept",
                        r.sources(), r.maxTracked()), String.format(Locale.ROOT, "%,d tracked; %d/%d bans kept",
                        r.trackedKeys(), r.attackersStillBanned(), r.attackers()), "<= cap; all kept", r.capHolds()));
            }
        }
        if (results.size() >= 2) {
            SprayRun.Result small = results.get(0);
            SprayRun.Result big = results.get(results.size() - 1);
            double growth = (big.heapAfter() - big.heapBefore()) / (double) Math.max(1, small.heapAfter() - small.heapBefore());
            rows.add(new RatioRow(String.format(Locale.ROOT, "Engine heap after %,d sources vs after %,d", big.sources(), small.sources()),
                    String.format(Locale.ROOT, "%.2fx", growth), "~1x (bounded)", growth < 1.25));
        }
        return rows;
    }

    @Override
    public String details() {
        StringBuilder sb = new StringBuilder("### Address spray memory (one JVM per run, G1, heap used after full GCs)\n\n");
        sb.append("| Sources | Cap | Tracked keys | Evictions | Bans kept | Engine heap | B/tracked key | Failures/s | GC |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|\n");
        for (SprayRun.Result r : results) {
            sb.append(String.format(Locale.ROOT, "| %,d | %,d | %,d | %,d | %d/%d | %.1f MiB | %.1f | %,d | %s |%n",
                    r.sources(), r.maxTracked(), r.trackedKeys(), r.evictions(), r.attackersStillBanned(),
                    r.attackers(), (r.heapAfter() - r.heapBefore()) / 1048576.0, r.bytesPerTrackedKey(),
                    r.failuresPerSecond(), r.gc()));
        }
        for (SprayRun.Result r : results) {
            sb.append(String.format(Locale.ROOT, "%n**Where the bytes go** (%,d sources, cap %,d): live objects added by the spray, "
                    + "from `GC.class_histogram` before and after%n%n", r.sources(), r.maxTracked()));
            sb.append("| Class | Instances | Bytes | Bytes per tracked key |\n|---|---|---|---|\n");
            for (String[] row : r.histogram()) {
                sb.append("| `").append(row[0]).append("` | ").append(row[1]).append(" | ").append(row[2])
                        .append(" | ").append(row[3]).append(" |\n");
            }
        }
        sb.append("\nThe spray first bans 1,000 sources (maxretry failures each), then makes every spray source fail once "
                + "with the clock fixed, so nothing expires: only the cap can limit the tracker.\n");
        return sb.toString();
    }
}
