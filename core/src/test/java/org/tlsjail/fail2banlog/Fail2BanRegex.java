package org.tlsjail.fail2banlog;

import java.io.File;
import org.tlsjail.testing.RealFail2BanServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Runs the real fail2ban-regex with the filter this repository ships, and parses its -v report. */
public final class Fail2BanRegex {
    /** One match: the address Fail2Ban extracted and the time it took, as fail2ban-regex prints it (UTC). */
    public record Match(String address, String time) {
    }

    public record Result(List<Match> matches, int lines, int matched, int missed, String output) {
    }

    private static final Pattern MATCH = Pattern.compile("^\\|\\s{6}(\\S+)\\s+(\\w{3} \\w{3} \\d{2} \\d{2}:\\d{2}:\\d{2} \\d{4})\\s*$");
    private static final Pattern LINES = Pattern.compile("^Lines: (\\d+) lines, (\\d+) ignored, (\\d+) matched, (\\d+) missed");

    private Fail2BanRegex() {
    }

    /** The filter shipped in this repository (conf/fail2ban/filter.d/os4x.conf), absolute. */
    public static Path filter() {
        return RealFail2BanServer.shippedFilter();
    }

    public static Result run(Path log) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/fail2ban-regex", "-v", "--print-all-missed",
                log.toAbsolutePath().toString(), filter().toString());
        pb.environment().put("TZ", "UTC");
        pb.redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("fail2ban-regex timed out");
        }
        String text = new String(out, StandardCharsets.UTF_8);
        List<Match> matches = new ArrayList<>();
        int lines = -1;
        int matched = -1;
        int missed = -1;
        for (String l : text.split("\n")) {
            Matcher m = MATCH.matcher(l);
            if (m.matches()) {
                matches.add(new Match(m.group(1), m.group(2)));
            }
            Matcher c = LINES.matcher(l);
            if (c.find()) {
                lines = Integer.parseInt(c.group(1));
                matched = Integer.parseInt(c.group(3));
                missed = Integer.parseInt(c.group(4));
            }
        }
        if (lines < 0) {
            throw new AssertionError("unexpected fail2ban-regex output:\n" + text);
        }
        return new Result(matches, lines, matched, missed, text);
    }
}
