package org.tlsjail.bench.report;

import java.util.List;

/** What one part of the benchmark run contributes to the report. */
public interface ReportPart {
    /** Headline rows, shown first. */
    List<RatioRow> ratios();

    /** The absolute figures behind them, as Markdown (starting with a level-3 heading). */
    String details();
}
