package org.tlsjail.bench.load;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.tlsjail.bench.report.RatioRow;
import org.tlsjail.bench.report.ReportPart;

/**
 * How long one CLI call takes, wall clock from exec to exit, against a running daemon: the built
 * distribution's {@code tlsjail status/banned/ban/unban} (core/target/tlsjail, with its
 * class-data archive) and {@code fail2ban-client} against a private fail2ban-server doing the same
 * (status of the jail, its banned list, banip, unbanip). Calls alternate, so both see the same
 * machine load. The target: tlsjail answers within 0.5 s on this machine.
 */
public final class CliLatency {
    private static final double TARGET_MS = 500;

    private final Path work;
    private final int rounds;

    public CliLatency(Path work, int rounds) {
        this.work = work;
        this.rounds = rounds;
    }

    public ReportPart run() throws Exception {
        Path launcher = Path.of("core/target/tlsjail/bin/tlsjail").toAbsolutePath();
        if (!Files.isExecutable(launcher) || !Fail2BanJail.installed()) {
            return skipped(!Files.isExecutable(launcher) ? "no built distribution at " + launcher : "fail2ban is not installed");
        }
        // absolute: the daemon runs in dir, and bench/run.sh passes a relative work directory
        Path dir = Files.createDirectories(work.toAbsolutePath().resolve("cli-latency"));
        Path state = dir.resolve("state");
        Path cfg = dir.resolve("tlsjail.yaml");
        Files.writeString(cfg, "state-dir: state\nlisten: {port: 0}\n");
        Files.deleteIfExists(state.resolve("tlsjail.port"));
        Process daemon = new ProcessBuilder(launcher.toString(), "run", "--config", cfg.toString()).directory(dir.toFile())
                .redirectErrorStream(true).redirectOutput(dir.resolve("daemon.out").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        Path f2bDir = dir.resolve("fail2ban");
        Fail2BanJail jail = null;
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!Files.exists(state.resolve("tlsjail.port")) && System.nanoTime() < deadline && daemon.isAlive()) {
                Thread.sleep(100);
            }
            if (!Files.exists(state.resolve("tlsjail.port"))) {
                return skipped("tlsjail did not start; see " + dir.resolve("daemon.out"));
            }
            jail = Fail2BanJail.start(f2bDir, state.resolve("fail2ban.log"));
            String c = cfg.toString();
            String f = f2bDir.toString();
            List<Row> rows = new ArrayList<>();
            rows.add(measure("status", i -> List.of(launcher.toString(), "status", "--config", c),
                    i -> List.of("fail2ban-client", "-c", f, "status", "os4x")));
            rows.add(measure("banned", i -> List.of(launcher.toString(), "banned", "--config", c),
                    i -> List.of("fail2ban-client", "-c", f, "get", "os4x", "banned")));
            rows.add(measure("ban", i -> List.of(launcher.toString(), "ban", "127.0.3." + (i + 1), "--config", c),
                    i -> List.of("fail2ban-client", "-c", f, "set", "os4x", "banip", "127.0.4." + (i + 1))));
            rows.add(measure("unban", i -> List.of(launcher.toString(), "unban", "127.0.3." + (i + 1), "--config", c),
                    i -> List.of("fail2ban-client", "-c", f, "set", "os4x", "unbanip", "127.0.4." + (i + 1))));
            return report(rows);
        } finally {
            if (jail != null) {
                jail.close();
            }
            daemon.destroy();
            if (!daemon.waitFor(30, TimeUnit.SECONDS)) {
                daemon.destroyForcibly();
            }
        }
    }

    private interface Command {
        List<String> of(int round);
    }

    private record Row(String command, Latencies tlsjail, Latencies fail2ban) {
    }

    private Row measure(String name, Command tlsjail, Command fail2ban) throws IOException, InterruptedException {
        Latencies t = new Latencies();
        Latencies f = new Latencies();
        for (int i = 0; i < rounds; i++) {
            t.add(time(tlsjail.of(i)));
            f.add(time(fail2ban.of(i)));
        }
        return new Row(name, t, f);
    }

    private static long time(List<String> cmd) throws IOException, InterruptedException {
        long start = System.nanoTime();
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("timed out: " + cmd);
        }
        long took = System.nanoTime() - start;
        if (p.exitValue() != 0) {
            throw new IOException("exit " + p.exitValue() + ": " + String.join(" ", cmd));
        }
        return took;
    }

    private ReportPart report(List<Row> rows) {
        return new ReportPart() {
            @Override
            public List<RatioRow> ratios() {
                List<RatioRow> out = new ArrayList<>();
                for (Row r : rows) {
                    double t = r.tlsjail().percentileMillis(50);
                    double f = r.fail2ban().percentileMillis(50);
                    out.add(new RatioRow("CLI `" + r.command() + "` median wall time, tlsjail / fail2ban-client",
                            String.format(Locale.ROOT, "%.1fx (%.0f ms / %.0f ms)", t / f, t, f),
                            "tlsjail <= " + (int) TARGET_MS + " ms", t <= TARGET_MS));
                }
                return out;
            }

            @Override
            public String details() {
                StringBuilder sb = new StringBuilder("### CLI call latency\n\n");
                sb.append("Wall time of one call, exec to exit, against a running daemon; ").append(rounds)
                        .append(" calls of each, alternating tlsjail and fail2ban-client (private server, jail os4x).\n\n");
                sb.append("| command | tlsjail median | tlsjail p90 | fail2ban-client median | fail2ban-client p90 |\n");
                sb.append("|---|---:|---:|---:|---:|\n");
                for (Row r : rows) {
                    sb.append(String.format(Locale.ROOT, "| %s | %.0f ms | %.0f ms | %.0f ms | %.0f ms |%n", r.command(),
                            r.tlsjail().percentileMillis(50), r.tlsjail().percentileMillis(90),
                            r.fail2ban().percentileMillis(50), r.fail2ban().percentileMillis(90)));
                }
                return sb.append('\n').toString();
            }
        };
    }

    private static ReportPart skipped(String why) {
        return new ReportPart() {
            @Override
            public List<RatioRow> ratios() {
                return List.of(new RatioRow("CLI call latency vs fail2ban-client", "not measured: " + why,
                        "tlsjail <= 500 ms", null));
            }

            @Override
            public String details() {
                return "### CLI call latency\n\nNot measured: " + why + ".\n\n";
            }
        };
    }
}
