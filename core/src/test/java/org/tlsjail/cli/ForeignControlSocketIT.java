package org.tlsjail.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.tlsjail.cli.Dist.tlsjail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.files.OtherUser;
import org.tlsjail.testing.Await;
import org.tlsjail.testing.RealPeer;

/**
 * Another local user (uid 65534) takes the control socket's name while the daemon is down: with
 * {@code control.socket} in a sticky, world-writable directory (which the daemon accepts, as it
 * does for /tmp), their own server listens there and answers root's CLI: "OK, unbanned", with a
 * terminal escape that retitles root's terminal. The CLI must not take that answer.
 */
class ForeignControlSocketIT {
    private static final String FAKE_DAEMON = String.join("\n",
            "import os, socket, sys",
            "s = socket.socket(socket.AF_UNIX)",
            "s.bind(sys.argv[1])",
            "os.chmod(sys.argv[1], 0o666)",
            "s.listen(8)",
            "while True:",
            "    c, _ = s.accept()",
            "    c.recv(1024)",
            "    c.sendall(b'OK\\n\\x1b]0;owned by uid 65534\\x07unbanned 203.0.113.5\\n')",
            "    c.close()",
            "");

    @TempDir
    Path work;

    @Test
    void rootsCliDoesNotTalkToAnotherUsersSocketInASharedDirectory() throws Exception {
        OtherUser.arena(work);
        RealPeer.require(Files.isExecutable(Path.of("/usr/bin/python3")), "python3 (the attacker's server) missing");
        Path shared = Files.createDirectory(work.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.setAttribute(shared, "unix:mode", 01777); // sticky, like /tmp
        Path socket = shared.resolve("tlsjail.sock");
        Path script = work.resolve("fake-daemon.py");
        Files.writeString(script, FAKE_DAEMON);
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rw-r--r--"));
        Path cfg = Dist.writeConfig(work, "state-dir: state\ncontrol:\n  socket: " + socket + "\n");
        Process fake = new ProcessBuilder("setpriv", "--reuid=" + OtherUser.UID, "--regid=" + OtherUser.UID,
                "--clear-groups", "/usr/bin/python3", script.toString(), socket.toString())
                .redirectErrorStream(true).start();
        try {
            Await.until("the other user's socket", Duration.ofSeconds(30), () -> Files.exists(socket));
            assertThat(Files.getAttribute(socket, "unix:uid")).isEqualTo(OtherUser.UID);
            for (List<String> command : List.of(List.of("unban", "203.0.113.5"), List.of("status"))) {
                List<String> args = new java.util.ArrayList<>(command);
                args.addAll(List.of("--config", cfg.toString()));
                Dist.Result r = tlsjail(work, args.toArray(String[]::new));
                assertThat(r.exit()).as(r.all()).isEqualTo(1);
                assertThat(r.out()).isEmpty();
                assertThat(r.err()).startsWith("tlsjail: not talking to " + socket + ": it belongs to uid 65534")
                        .contains(shared + " can be written by other users").hasLineCount(1);
                assertThat(r.all()).doesNotContain("\u001b").doesNotContain("unbanned");
            }
        } finally {
            fake.destroyForcibly();
            fake.waitFor();
        }
    }

    @Test
    void repliesReachTheTerminalWithoutControlCharacters() {
        assertThat(ControlClient.forTerminal("OK\tfine\nline two\n")).isEqualTo("OK\tfine\nline two\n");
        assertThat(ControlClient.forTerminal("a\u001b]0;x\u0007b\u009bc\u202ed\r")).isEqualTo("a?]0;x?b?c?d?");
    }
}
