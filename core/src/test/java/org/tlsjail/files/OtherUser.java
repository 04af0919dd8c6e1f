package org.tlsjail.files;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.tlsjail.testing.RealPeer;

/**
 * The attacker with a local account: shell commands run as uid/gid 65534 through {@code setpriv},
 * and the victims whose contents and modes must stay as they were. Needs root; without it a test
 * skips with a message, unless CI=true, where it fails.
 */
public final class OtherUser {
    public static final int UID = 65534;

    private OtherUser() {
    }

    /** Skips (or, with CI=true, fails) unless this runs as root with setpriv installed. */
    public static void assumeAvailable() {
        RealPeer.require("root".equals(System.getProperty("user.name")),
                "needs root to act as a second user (uid 65534 via setpriv)");
        RealPeer.require(Files.isExecutable(Path.of("/usr/bin/setpriv")), "setpriv (util-linux) missing");
    }

    /** Runs {@code sh -c script} as uid 65534; returns its exit status. */
    public static int sh(String script) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("setpriv", "--reuid=" + UID, "--regid=" + UID, "--clear-groups", "sh", "-c", script)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("as uid 65534 hung: " + script);
        }
        if (p.exitValue() != 0) {
            System.err.println("as uid 65534: " + script + " -> " + p.exitValue() + ": " + out);
        }
        return p.exitValue();
    }

    /** Runs {@code sh -c script} as uid 65534 and asserts it succeeded (the attack was possible). */
    public static void must(String script) throws IOException, InterruptedException {
        assertThat(sh(script)).as("as uid 65534: %s", script).isZero();
    }

    /** A root-owned file with known content and mode 0600 that tlsjail must never touch. */
    public record Victim(Path path, String content) {
        public static Victim create(Path dir, String name) throws IOException {
            Path p = dir.resolve(name);
            String content = "victim " + name + ": must stay exactly like this\n";
            Files.writeString(p, content);
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-------"));
            return new Victim(p, content);
        }

        public void assertUntouched() throws IOException {
            Map<String, Object> a = Files.readAttributes(path, "unix:mode,uid,nlink");
            assertThat(Files.readString(path)).as("contents of %s", path).isEqualTo(content);
            assertThat(Integer.toOctalString((Integer) a.get("mode") & 07777)).as("mode of %s", path).isEqualTo("600");
            assertThat(a.get("uid")).as("owner of %s", path).isEqualTo(0);
        }
    }

    /**
     * Skips unless available ({@link #assumeAvailable}), opens the test's temp dir {@code root} to
     * uid 65534 and returns a root-owned directory (0755) for the victims, inside it.
     */
    public static Path arena(Path root) throws IOException {
        assumeAvailable();
        letIn(List.of(root));
        Path victims = Files.createDirectory(root.resolve("victims"));
        letIn(List.of(victims));
        return victims;
    }

    /** Makes {@code dirs} reachable by uid 65534 (0755), as the test's temp root is 0700. */
    public static void letIn(List<Path> dirs) throws IOException {
        for (Path d : dirs) {
            Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }
}
