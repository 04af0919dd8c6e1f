package org.tlsjail.bench.report;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** The report bench/run.sh writes: ratios first, then the absolute figures and the machine. */
public final class MarkdownReport {
    private final Machine machine;
    private final String command;
    private final Instant finished;
    private final Duration elapsed;
    private final List<ReportPart> parts;
    private final List<String> notes;
    private final String loadBefore;
    private final String loadAfter;

    public MarkdownReport(Machine machine, String command, Instant finished, Duration elapsed,
                          List<ReportPart> parts, List<String> notes, String loadBefore, String loadAfter) {
        this.loadBefore = loadBefore;
        this.loadAfter = loadAfter;
        this.machine = machine;
        this.command = command;
        this.finished = finished;
        this.elapsed = elapsed;
        this.parts = parts;
        this.notes = notes;
    }

    public String render() {
        StringBuilder sb = new StringBuilder();
        sb.append("# tlsjail benchmark report\n\n");
        sb.append("Written by `").append(command).append("` at ").append(finished)
                .append(" in ").append(elapsed.toSeconds() / 60).append(" min ")
                .append(elapsed.toSeconds() % 60).append(" s, on ").append(machine.cpus()).append(" CPUs (")
                .append(machine.cpuModel()).append("), ").append(machine.jdk()).append(".\n\n");
        sb.append("Every ratio compares two things measured in the same run on the same machine.\n\n");
        sb.append("## Ratios\n\n| What | Measured | Target | Met |\n|---|---|---|---|\n");
        for (ReportPart p : parts) {
            for (RatioRow r : p.ratios()) {
                sb.append("| ").append(r.what()).append(" | ").append(r.value()).append(" | ")
                        .append(r.target() == null ? "" : r.target()).append(" | ")
                        .append(r.met() == null ? "" : r.met() ? "yes" : "**no**").append(" |\n");
            }
        }
        sb.append("\n## Machine\n\n");
        sb.append("| | |\n|---|---|\n");
        sb.append("| nproc | ").append(machine.cpus()).append(" |\n");
        sb.append("| CPU | ").append(machine.cpuModel()).append(" |\n");
        sb.append("| Memory | ").append(machine.memory()).append(" |\n");
        sb.append("| JDK | ").append(machine.jdk()).append(" |\n");
        sb.append("| OS | ").append(machine.os()).append(" |\n");
        sb.append("| Load average (1/5/15 min) at start / end | ").append(loadBefore).append(" / ").append(loadAfter)
                .append(" |\n");
        sb.append("\n## Absolute figures\n\n");
        for (ReportPart p : parts) {
            sb.append(p.details()).append('\n');
        }
        if (!notes.isEmpty()) {
            sb.append("## Notes\n\n");
            notes.forEach(n -> sb.append("- ").append(n).append('\n'));
        }
        return sb.toString();
    }
}
