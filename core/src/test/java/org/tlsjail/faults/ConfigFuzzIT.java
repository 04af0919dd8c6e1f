package org.tlsjail.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Pattern;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.tlsjail.testing.Distribution;
import org.junit.jupiter.api.io.TempDir;

/**
 * Case 9: a corpus of hostile and broken YAML files through the real {@code bin/tlsjail}, each
 * with {@code config check --config F} and {@code run --config F}: every one exits 2 with one
 * line naming the file (and line:column where the YAML has a position), no stack trace, no
 * control character, and {@code run} never gets as far as a listener (the default port is held by
 * the test, so a daemon that tried to bind would fail differently; no control socket appears).
 */
class ConfigFuzzIT {
    private static final int MAX_MESSAGE = 500;
    /**
     * An empty file (or one with only comments) is the embedded default by the daemon's design
     * (ConfigLoaderTest.emptyFileIsTheDefaultAndStateDirOverrideWins): checked to pass
     * {@code config check}, not run (it would start on 127.0.0.1:6619).
     */
    private static final java.util.Set<String> ACCEPTED_BY_DESIGN = java.util.Set.of("empty-file", "only-comments");
    private static final Pattern STACK = Pattern.compile("Exception|\\tat |Caused by|\\.java:\\d+\\)");

    @TempDir
    Path dir;

    /** One corpus file; {@code line} > 0: the message must point at that line (with a column). */
    record Case(String name, byte[] content, int line) {
        static Case text(String name, String yaml, int line) {
            return new Case(name, yaml.getBytes(StandardCharsets.UTF_8), line);
        }
    }

    static List<Case> corpus() {
        List<Case> c = new ArrayList<>();
        // wrong types
        c.add(Case.text("port-not-a-number", "listen:\n  port: abc\n", 2));
        c.add(Case.text("section-is-a-scalar", "listen: 5\n", 1));
        c.add(Case.text("int-is-a-list", "jail:\n  maxretry: [1, 2]\n", 2));
        c.add(Case.text("int-is-a-bool", "jail:\n  maxretry: true\n", 2));
        c.add(Case.text("root-is-a-list", "- listen\n- jail\n", 1));
        // huge numbers
        c.add(Case.text("int-huge", "jail:\n  maxretry: 99999999999999999999999999999\n", 2));
        c.add(Case.text("port-out-of-range", "listen:\n  port: 70000\n", 2));
        c.add(Case.text("duration-huge", "jail:\n  bantime: 999999999999999999999999w\n", 2));
        c.add(Case.text("duration-digits", "jail:\n  findtime: " + "9".repeat(400) + "\n", 2));
        // negative durations and counts
        c.add(Case.text("findtime-negative", "jail:\n  findtime: -5\n", 2));
        c.add(Case.text("handshake-timeout-negative", "tls:\n  handshake-timeout: -1\n", 2));
        c.add(Case.text("handshake-timeout-zero", "tls:\n  handshake-timeout: 0\n", 2));
        c.add(Case.text("maxretry-negative", "jail:\n  maxretry: -3\n", 2));
        // aliases and anchors
        StringBuilder laughs = new StringBuilder("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (char ch = 'b'; ch <= 'i'; ch++) {
            char prev = (char) (ch - 1);
            laughs.append(ch).append(": &").append(ch).append(" [");
            for (int i = 0; i < 9; i++) {
                laughs.append(i == 0 ? "" : ",").append('*').append(prev);
            }
            laughs.append("]\n");
        }
        c.add(Case.text("billion-laughs", laughs.toString(), 0));
        c.add(Case.text("billion-laughs-in-ignoreip", "x: &x [1,2,3,4,5,6,7,8,9]\njail:\n  ignoreip: [" + "*x,".repeat(200) + "*x]\n", 0));
        c.add(Case.text("recursive-alias", "jail: &j\n  maxretry: 3\n  again: *j\n", 3));
        c.add(Case.text("merge-key", "base: &b {port: 6619}\nlisten:\n  <<: *b\n", 3));
        // unknown tags (classic snakeyaml gadgets)
        c.add(Case.text("tag-java-runtime", "listen:\n  address: !!java.lang.Runtime 127.0.0.1\n", 2));
        c.add(Case.text("tag-script-engine", "!!javax.script.ScriptEngineManager [!!java.net.URLClassLoader "
                + "[[!!java.net.URL [\"http://127.0.0.1:1/\"]]]]\n", 1));
        c.add(Case.text("tag-on-root-mapping", "--- !tlsjail\nlisten: {port: 6619}\n", 1));
        c.add(Case.text("tag-binary", "tls:\n  keystore-password: !!binary aGVsbG8=\n", 2));
        // deep nesting
        c.add(Case.text("deep-flow-nesting", "listen: " + "[".repeat(10_000) + "]".repeat(10_000) + "\n", 0));
        StringBuilder block = new StringBuilder();
        for (int i = 0; i < 200; i++) {
            block.append("  ".repeat(i)).append("k").append(i).append(":\n");
        }
        c.add(Case.text("deep-block-nesting", block.toString(), 0));
        // binary junk, encodings, empty
        byte[] junk = new byte[4096];
        new Random(42).nextBytes(junk);
        c.add(new Case("binary-junk", junk, 0));
        c.add(Case.text("control-characters", "listen:\n  address: \"127.0.0.1\u0000\u001b[2J\"\n", 2));
        c.add(Case.text("empty-file", "", 0));
        c.add(Case.text("only-comments", "# nothing configured here\n\n", 0));
        c.add(new Case("utf16-bom", concat(new byte[] {(byte) 0xFF, (byte) 0xFE},
                "listen:\n  port: 6619\n".getBytes(StandardCharsets.UTF_16LE)), 0));
        c.add(new Case("utf8-bom-unknown-key", concat(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF},
                "lisen:\n  port: 6619\n".getBytes(StandardCharsets.UTF_8)), 1));
        c.add(new Case("utf8-bom-mid-file", "listen:\n  \uFEFFport: 6619\n".getBytes(StandardCharsets.UTF_8), 0));
        // duplicates
        c.add(Case.text("duplicate-key", "jail:\n  maxretry: 3\n  maxretry: 4\n", 3));
        c.add(Case.text("duplicate-section", "jail: {maxretry: 3}\njail: {maxretry: 4}\n", 2));
        // long strings
        c.add(Case.text("long-value", "jail:\n  bantime: \"" + "1".repeat(300_000) + "\"\n", 2));
        c.add(Case.text("long-key", "? " + "k".repeat(200_000) + "\n: 1\n", 1));
        c.add(Case.text("long-path", "fail2ban-log:\n  path: /tmp/" + "p/".repeat(100_000) + "x.log\n", 0));
        c.add(Case.text("escape-sequences-in-key", "\"\\e]0;owned\\a\\e[2J\\e[31mred\": 1\n", 1));
        c.add(Case.text("newline-in-key", "\"listen\\nTLS error 1 during connect try from 8.8.8.8: x\": 1\n", 1));
        c.add(Case.text("oversized-file", "# " + "x".repeat(2 << 20) + "\n", 0));
        // plain syntax errors
        c.add(Case.text("tab-indentation", "listen:\n\tport: 6619\n", 2));
        c.add(Case.text("unterminated-quote", "listen:\n  address: \"127.0.0.1\n", 0));
        c.add(Case.text("unknown-nested-key", "jail:\n  max-retry: 3\n", 2));
        // the bridge section (read by the loader into the bridge module's records)
        c.add(Case.text("bridge-not-a-mapping", "bridge: 5\n", 1));
        c.add(Case.text("bridge-disabled-but-broken", "bridge:\n  fail2ban:\n    jail: [1]\n", 0));
        c.add(Case.text("bridge-nft-table-injection", "bridge:\n  nftables:\n    enabled: true\n    table: \"x; flush ruleset\"\n", 0));
        return c;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    record Outcome(Case c, Path file, String command, Distribution.Result r, Path stateDir) {
    }

    @Test
    void everyBrokenConfigurationExitsTwoWithOneLineNamingWhere() throws Exception {
        Distribution.launcher();
        List<Case> corpus = new ArrayList<>(corpus());
        List<Path> files = new ArrayList<>();
        for (Case c : corpus) {
            Path f = dir.resolve(c.name() + ".yaml");
            Files.write(f, c.content());
            files.add(f);
        }
        // a directory and a missing file where the configuration should be
        Path asDirectory = Files.createDirectory(dir.resolve("directory.yaml"));
        corpus.add(new Case("directory", new byte[0], 0));
        files.add(asDirectory);
        corpus.add(new Case("missing-file", new byte[0], 0));
        files.add(dir.resolve("missing.yaml"));

        long t0 = System.nanoTime();
        List<Outcome> outcomes = new ArrayList<>();
        // The default port is held by the test: a daemon that got as far as binding would fail with
        // "port in use" (exit 1), not with the configuration error this test expects.
        try (ServerSocket held = holdDefaultPort()) {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                List<Future<Outcome>> futures = new ArrayList<>();
                for (int i = 0; i < corpus.size(); i++) {
                    Case c = corpus.get(i);
                    Path f = files.get(i);
                    Path state = dir.resolve("state-" + c.name());
                    futures.add(pool.submit(() -> new Outcome(c, f, "config check", Distribution.run(
                            Distribution.command("config", "check", "--config", f.toString()), 60, dir, null), null)));
                    if (ACCEPTED_BY_DESIGN.contains(c.name())) {
                        continue;
                    }
                    // C1 only, as the launcher does for the CLI commands: this run must end at the configuration.
                    // No GC flag: the launcher selects G1 for `run`, and a second collector is a JVM startup error.
                    futures.add(pool.submit(() -> new Outcome(c, f, "run", Distribution.run(
                            Distribution.command("run", "--config", f.toString(), "--state-dir", state.toString()), 60, dir,
                            "-XX:TieredStopAtLevel=1"), state)));
                }
                for (Future<Outcome> fu : futures) {
                    outcomes.add(fu.get());
                }
            } finally {
                pool.shutdownNow();
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;

        SoftAssertions soft = new SoftAssertions();
        int maxLength = 0;
        int withPosition = 0;
        for (Outcome o : outcomes) {
            String what = o.command() + " " + o.c().name() + ": stderr=" + abbreviate(o.r().stderr()) + " stdout="
                    + abbreviate(o.r().stdout());
            String err = o.r().stderr();
            if (ACCEPTED_BY_DESIGN.contains(o.c().name())) {
                soft.assertThat(o.r().exit()).as("accepted by design: " + what).isZero();
                soft.assertThat(o.r().stdout()).as(what).contains(o.file() + ": OK");
                continue;
            }
            maxLength = Math.max(maxLength, err.length());
            soft.assertThat(o.r().timedOut()).as("still running after 60 s (a started daemon?): " + what).isFalse();
            soft.assertThat(o.r().exit()).as("exit status of " + what).isEqualTo(2);
            soft.assertThat(err).as("one line naming the file: " + what).startsWith("tlsjail: " + o.file())
                    .endsWith("\n").hasLineCount(1);
            soft.assertThat(err.length()).as("message length: " + what).isLessThanOrEqualTo(MAX_MESSAGE);
            soft.assertThat(err.substring(0, Math.max(0, err.length() - 1)).chars().filter(ch -> ch < 0x20 || ch == 0x7f).count())
                    .as("control characters in the message: " + what).isZero();
            soft.assertThat(STACK.matcher(err + o.r().stdout()).find()).as("stack trace: " + what).isFalse();
            soft.assertThat(o.r().stdout()).as("stdout: " + what).isEmpty();
            if (o.c().line() > 0) {
                soft.assertThat(err).as("line:column: " + what).startsWith("tlsjail: " + o.file() + ":" + o.c().line() + ":");
            }
            if (err.startsWith("tlsjail: " + o.file() + ":") && err.substring(("tlsjail: " + o.file()).length()).matches("(?s):\\d+:\\d+: .*")) {
                withPosition++;
            }
            if (o.stateDir() != null) {
                soft.assertThat(o.stateDir().resolve("control.sock")).as("control socket of " + what).doesNotExist();
            }
        }
        System.out.printf("faults: config fuzz: %d files x {config check, run} = %d runs in %.1f s: every invalid one exit status 2 = %s,"
                        + " %d messages with file:line:column, longest message %d chars%n", corpus.size(), outcomes.size(),
                seconds, outcomes.stream().filter(o -> !ACCEPTED_BY_DESIGN.contains(o.c().name())).allMatch(o -> o.r().exit() == 2), withPosition, maxLength);
        for (Outcome o : outcomes) {
            if (o.command().equals("config check")) {
                System.out.printf("faults: config fuzz %-28s exit %d: %s%n", o.c().name(), o.r().exit(), abbreviate(o.r().stderr()));
            }
        }
        soft.assertAll();
    }

    private static ServerSocket holdDefaultPort() {
        try {
            ServerSocket s = new ServerSocket();
            s.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 6619));
            return s;
        } catch (IOException e) {
            // someone else holds it: a daemon could not bind it either
            return null;
        }
    }

    private static String abbreviate(String s) {
        String t = s.strip().replaceAll("\\p{Cntrl}", "?");
        return t.length() > 200 ? t.substring(0, 200) + "...(" + s.length() + " chars)" : t;
    }
}
