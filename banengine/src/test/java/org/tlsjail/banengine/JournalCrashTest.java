package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 at random moments during a stream of bans and unbans: after every restart the active
 * bans are exactly those whose journal records were written before the kill (the operation in
 * flight at the kill may land either way); none is lost, none comes back after its unban.
 */
class JournalCrashTest {
    static final int ROUNDS = Integer.getInteger("tlsjail.crash.rounds", 50);

    @TempDir
    Path dir;

    @Test
    void killMinusNineLosesAndResurrectsNothing() throws Exception {
        Path file = dir.resolve("bans.journal");
        Random random = new Random(42);
        Set<String> acknowledged = new HashSet<>();
        String java = ProcessHandle.current().info().command().orElse("java");
        String classpath = System.getProperty("java.class.path");
        int totalOps = 0;
        for (int round = 0; round < ROUNDS; round++) {
            Process child = new ProcessBuilder(java, "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", classpath,
                    JournalCrashChild.class.getName(), file.toString(), Long.toString(random.nextLong()))
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            String ready = out.readLine();
            assertThat(ready).as("round %d child start", round).startsWith("READY");
            Set<String> restored = parseList(ready.substring(5).trim());
            // what the child restored must equal what was acknowledged, give or take the op in flight
            assertThat(restored).as("round %d restore", round).isEqualTo(acknowledged);

            int opsBeforeKill = 5 + random.nextInt(60);
            String inFlight = null;
            String line;
            int ops = 0;
            while (ops < opsBeforeKill && (line = out.readLine()) != null) {
                if (line.startsWith("TRY ")) {
                    inFlight = line.substring(4);
                } else if (line.startsWith("DONE ")) {
                    apply(acknowledged, line.substring(5));
                    inFlight = null;
                    ops++;
                }
            }
            // the child is mid-way through its next operations now: kill it without warning
            child.toHandle().destroyForcibly(); // SIGKILL; unlike Process.destroy it leaves our end of the pipe open
            assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();
            // drain what it printed after our last read: those were acknowledged too
            while ((line = out.readLine()) != null) {
                if (line.startsWith("TRY ")) {
                    inFlight = line.substring(4);
                } else if (line.startsWith("DONE ")) {
                    apply(acknowledged, line.substring(5));
                    inFlight = null;
                }
            }
            totalOps += ops;
            Set<String> onDisk = BanJournal.open(file, Clock.systemUTC()).replayReport().restorable().stream()
                    .map(r -> r.key().toString()).collect(Collectors.toSet());
            if (inFlight != null) {
                // the operation cut short may or may not have reached the disk: accept both, then adopt it
                Set<String> withIt = new HashSet<>(acknowledged);
                apply(withIt, inFlight);
                assertThat(onDisk).as("round %d", round).isIn(acknowledged, withIt);
                acknowledged.clear();
                acknowledged.addAll(onDisk);
            } else {
                assertThat(onDisk).as("round %d", round).isEqualTo(acknowledged);
            }
        }
        System.out.printf("crash safety: %d kill -9 rounds, %d acknowledged operations, %d bans at the end%n",
                ROUNDS, totalOps, acknowledged.size());
        assertThat(totalOps).isGreaterThan(ROUNDS * 5);
    }

    private static void apply(Set<String> state, String op) {
        String[] f = op.split(" ");
        if (f[0].equals("B")) {
            state.add(f[1]);
        } else {
            state.remove(f[1]);
        }
    }

    private static Set<String> parseList(String csv) {
        Set<String> s = new HashSet<>();
        for (String part : csv.split(",")) {
            if (!part.isBlank()) {
                s.add(part.trim());
            }
        }
        return s;
    }
}
