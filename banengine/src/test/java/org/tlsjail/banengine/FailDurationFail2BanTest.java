package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.testing.RealPeer;

/**
 * The same text must mean the same duration in jail.conf and tlsjail.yaml: every string is given
 * to Fail2Ban's own parser ({@code MyTime.str2seconds}, run by python3 from the installed
 * fail2ban package) and to {@link FailDuration}.
 */
class FailDurationFail2BanTest {
    /** What Fail2Ban's documentation and jail.conf use, and what operators write. */
    private static final List<String> DOCUMENTED = List.of("600", "10m", "10 minutes", "10 Minutes", "10min", "1h",
            "1 hour", "1 hour 30 min", "1hour+30min", "0d 1h 30m", "1year-6mo", "6 months", "2 days", "1 day",
            "1 week", "2 weeks", "1w", "1d12h30m", "1d 12h 30m", "0.5d", ".5h", "1mo", "1mon", "1 month", "1y",
            "1 year", "3 sec", "45 seconds", "1 second", "90s", "1h 30", "1h30", "1 2", "5. h", "1 da", "1wee",
            "1yea", "1hou", "1mm", "1dd", "1ww", "1yy", "1hh", "1ss", "1 DAY", "2 Hours", "1h - 30m", "0",
            "1 -1", "4w", "00", "010.5s");
    /** Refused by Fail2Ban too (it raises instead of returning a number). */
    private static final List<String> REFUSED_BY_BOTH = List.of("1mins", "1ms", "5.h", "1e9", "1.5.5", "1 fortnight",
            "h", "10x", "1h-", "1hx", "01", "1h 010m");

    @TempDir
    Path dir;

    /** Each text as Fail2Ban rewrites it before its eval (JSON-quoted), e.g. "1 *3600+30 *60". */
    private final Map<String, String> rewritten = new LinkedHashMap<>();

    @Test
    void documentedSyntaxMeansTheSameInBoth() throws Exception {
        Map<String, Double> f2b = fail2ban(DOCUMENTED);
        for (String s : DOCUMENTED) {
            assertThat(f2b.get(s)).as("Fail2Ban accepts '%s'", s).isNotNull();
            assertThat(FailDuration.parse(s, "jail.bantime").toMillis())
                    .as("'%s' (Fail2Ban: %s s)", s, f2b.get(s))
                    .isCloseTo(Math.round(f2b.get(s) * 1000), org.assertj.core.data.Offset.offset(1L));
        }
    }

    @Test
    void whatFail2BanRefusesIsRefused() throws Exception {
        Map<String, Double> f2b = fail2ban(REFUSED_BY_BOTH);
        for (String s : REFUSED_BY_BOTH) {
            assertThat(f2b.get(s)).as("Fail2Ban refuses '%s'", s).isNull();
            assertThat(accepts(s)).as("tlsjail refuses '%s'", s).isFalse();
        }
    }

    /**
     * An attacker's view of the grammar: random strings from its pieces (numbers, unit words and
     * their prefixes, spaces, signs, stray letters and dots). Whatever tlsjail accepts must be
     * what Fail2Ban computes; whatever Fail2Ban computes as a sum of terms, tlsjail must accept.
     */
    @Test
    void randomTextsAgreeWithFail2Ban() throws Exception {
        String[] pieces = {"1", "2", "10", "0", "30", "1.5", ".5", "5.", " ", " ", "  ", "+", "-", "d", "day", "days",
            "da", "h", "hour", "hours", "hou", "m", "mm", "min", "mins", "minute", "minutes", "mo", "mon", "month",
            "months", "s", "sec", "second", "seconds", "w", "week", "wee", "y", "year", "yea", "x", "e", ".", "\t", "01", "00"};
        Random random = new Random(20261202L);
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            StringBuilder sb = new StringBuilder();
            int n = 1 + random.nextInt(6);
            for (int j = 0; j < n; j++) {
                sb.append(pieces[random.nextInt(pieces.length)]);
            }
            String t = sb.toString().strip();
            if (!t.isEmpty() && !t.equals("-1")) {
                texts.add(t);
            }
        }
        Map<String, Double> f2b = fail2ban(texts);
        int bothAccepted = 0;
        for (String s : texts) {
            Double expected = f2b.get(s);
            boolean ours = accepts(s);
            if (ours) {
                assertThat(expected).as("tlsjail accepts '%s', Fail2Ban refuses it", s).isNotNull();
                assertThat(FailDuration.parse(s, "x").toMillis()).as("'%s'", s)
                        .isCloseTo(Math.round(expected * 1000), org.assertj.core.data.Offset.offset(1L));
                bothAccepted++;
            } else if (expected != null && expected >= 0 && expected < 100L * 365 * 86400 && isPlainSum(rewritten.get(s))) {
                throw new AssertionError("Fail2Ban reads '" + s + "' as " + expected + " s, tlsjail refuses it");
            }
        }
        assertThat(bothAccepted).as("the corpus exercises accepted texts").isGreaterThan(150);
    }

    /**
     * Fail2Ban's rewritten expression is a sum or difference of {@code number [*unit-seconds]}
     * terms (no leading sign, no products of units): what tlsjail promises to read.
     */
    private static boolean isPlainSum(String quotedExpression) {
        String num = "(?:\\d+(?:\\.\\d*)?|\\.\\d+)";
        String term = "\\s*" + num + "(?:\\s*\\*\\d+(?:\\.0)?(?![.\\d]))?\\s*";
        return quotedExpression.matches("\"" + term + "(?:[+-]" + term + ")*\"");
    }

    private static boolean accepts(String s) {
        try {
            FailDuration.parse(s, "x");
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Fail2Ban's value for each text (null where it raises), computed by Fail2Ban's own code. */
    private Map<String, Double> fail2ban(List<String> texts) throws IOException, InterruptedException {
        Path script = dir.resolve("str2seconds.py");
        Files.writeString(script, String.join("\n",
                "import sys, json",
                "try:",
                "    from fail2ban.server.mytime import MyTime",
                "except ImportError:",
                "    print('NO-FAIL2BAN'); sys.exit(0)",
                "def rewrite(val):",
                "    # str2seconds' own steps, without the eval: what Python is asked to compute",
                "    val = MyTime._str2sec_prep.sub(r' \\1', val)",
                "    for rexp, rpl in MyTime._str2sec_parts:",
                "        val = rexp.sub(rpl, val)",
                "    return MyTime._str2sec_fini.sub(r'\\1+\\2', val)",
                "for line in sys.stdin.read().split('\\n')[:-1]:",
                "    s = json.loads(line)",
                "    try:",
                "        v = MyTime.str2seconds(s)",
                "        v = float(v) if isinstance(v, (int, float)) else None",
                "    except BaseException:",
                "        v = None",
                "    print(json.dumps(v), json.dumps(rewrite(s)))",
                ""));
        Process p;
        try {
            List<String> cmd = new ArrayList<>(fail2banPython());
            cmd.add(script.toString());
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            return missing("python3 is not installed: " + e.getMessage());
        }
        StringBuilder in = new StringBuilder();
        for (String t : texts) {
            in.append(json(t)).append('\n');
        }
        Thread writer = new Thread(() -> {
            try (var os = p.getOutputStream()) {
                os.write(in.toString().getBytes(StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // the reader reports a short answer
            }
        });
        writer.start();
        List<String> out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        writer.join();
        if (out.size() == 1 && out.get(0).equals("NO-FAIL2BAN")) {
            return missing("the fail2ban Python package is not installed");
        }
        assertThat(out).as("one answer per text").hasSize(texts.size());
        Map<String, Double> values = new LinkedHashMap<>();
        for (int i = 0; i < texts.size(); i++) {
            String[] v = out.get(i).split(" ", 2);
            values.put(texts.get(i), v[0].equals("null") ? null : Double.valueOf(v[0]));
            rewritten.put(texts.get(i), v[1]);
        }
        return values;
    }

    /**
     * The interpreter Fail2Ban itself runs with (the shebang of fail2ban-server on PATH): another
     * python3 earlier on PATH (pyenv, a venv) may not see the fail2ban package.
     */
    private static List<String> fail2banPython() throws IOException {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            Path server = Path.of(d.isEmpty() ? "." : d, "fail2ban-server");
            if (Files.isRegularFile(server)) {
                String first = Files.readAllLines(server, StandardCharsets.ISO_8859_1).stream().findFirst().orElse("");
                if (first.startsWith("#!")) {
                    return List.of(first.substring(2).strip().split("\\s+"));
                }
            }
        }
        return List.of("python3");
    }

    private static Map<String, Double> missing(String why) {
        RealPeer.require(false, why + ": cannot compare with Fail2Ban's parser");
        return Map.of(); // not reached: require skips or fails
    }

    private static String json(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('"').toString();
    }
}
