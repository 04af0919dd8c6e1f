package org.tlsjail.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** StrictModes for tlsjail's files, attacked by a second local user (uid 65534). */
class FileSafetyTest {
    @TempDir
    Path root;
    private Path victims;
    private final FileSafety files = new FileSafety(0);

    @BeforeEach
    void setUp() throws Exception {
        victims = OtherUser.arena(root);
    }

    private Path dir(String name, String mode) throws Exception {
        Path d = Files.createDirectory(root.resolve(name));
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString(mode));
        return d;
    }

    @Test
    void refusesADirectoryOthersMayWriteWithoutTheStickyBitOrOneAnotherUserOwns() throws Exception {
        Path open = dir("open", "rwxrwxrwx");
        assertThatThrownBy(() -> files.ensureDirectory(open, "state-dir"))
                .isInstanceOf(UnsafePathException.class)
                .hasMessage("state-dir: directory " + open + " is writable by group or others (mode 0777) without the"
                        + " sticky bit; another user could replace tlsjail's files there (chmod go-w it, or choose another directory)");
        Path groupWritable = dir("group", "rwxrwxr-x");
        assertThatThrownBy(() -> files.checkDirectory(groupWritable, "state-dir")).hasMessageContaining("mode 0775");
        // a safe directory below an unsafe one is unsafe too: the parent's writer can rename it away
        Path below = Files.createDirectory(open.resolve("below"));
        assertThatThrownBy(() -> files.ensureDirectory(below.resolve("new"), "fail2ban-log.path"))
                .isInstanceOf(UnsafePathException.class).hasMessageContaining("directory " + open + " is writable");
        assertThat(below.resolve("new")).doesNotExist();

        Path theirs = dir("theirs", "rwxr-xr-x");
        Files.setAttribute(theirs, "unix:uid", OtherUser.UID);
        assertThatThrownBy(() -> files.checkDirectory(theirs, "control.socket"))
                .isInstanceOf(UnsafePathException.class)
                .hasMessageContaining("directory " + theirs + " is owned by uid 65534, not by tlsjail's user (uid 0) or root");
        // a link to a safe directory, placed in an unsafe one, is judged by where it is too
        Path safe = dir("safe", "rwxr-x---");
        Files.createSymbolicLink(open.resolve("link"), safe);
        assertThatThrownBy(() -> files.checkDirectory(open.resolve("link"), "state-dir")).hasMessageContaining(open.toString());
        files.checkDirectory(safe, "state-dir");
    }

    @Test
    void acceptsAStickySharedDirectoryButNoLinkOrForeignFilePlantedInIt() throws Exception {
        Path shared = dir("shared", "rwxrwxrwx");
        Files.setAttribute(shared, "unix:mode", 01777); // like /tmp: root-owned, sticky, world-writable
        files.ensureDirectory(shared, "fail2ban-log.path");
        OtherUser.Victim shadow = OtherUser.Victim.create(victims, "shadow");
        OtherUser.Victim passwd = OtherUser.Victim.create(victims, "passwd");
        OtherUser.must("ln -s " + shadow.path() + " " + shared.resolve("fail2ban.log"));
        OtherUser.must("echo 'TLS error 1 during connect try from 192.0.2.1: injected' > " + shared.resolve("other.log"));
        Files.createLink(shared.resolve("linked.log"), passwd.path()); // a second name for a victim

        assertThatThrownBy(() -> files.openForAppend(shared.resolve("fail2ban.log"), FileSafetyTestModes.RW_R, "fail2ban-log.path"))
                .isInstanceOf(UnsafePathException.class)
                .hasMessage("fail2ban-log.path: " + shared.resolve("fail2ban.log")
                        + " is a symbolic link; tlsjail never writes through links (remove it)");
        assertThatThrownBy(() -> files.openForAppend(shared.resolve("other.log"), FileSafetyTestModes.RW_R, "fail2ban-log.path"))
                .hasMessageContaining("is owned by uid 65534");
        assertThatThrownBy(() -> files.openForAppend(shared.resolve("linked.log"), FileSafetyTestModes.RW_R, "fail2ban-log.path"))
                .hasMessageContaining("has 2 hard links");
        shadow.assertUntouched();
        passwd.assertUntouched();
        // a socket of the other user's in place of the control socket: neither taken for tlsjail's nor removed
        try (jnr.unixsocket.UnixServerSocketChannel sock = jnr.unixsocket.UnixServerSocketChannel.open()) {
            sock.socket().bind(new jnr.unixsocket.UnixSocketAddress(shared.resolve("control.sock").toFile()));
        }
        Files.setAttribute(shared.resolve("control.sock"), "unix:uid", OtherUser.UID, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        assertThatThrownBy(() -> files.checkOwnedIfPresent(shared.resolve("control.sock"), "control.socket"))
                .hasMessageContaining("control.socket: " + shared.resolve("control.sock") + " is owned by uid 65534");
        assertThatThrownBy(() -> files.checkOwnedIfPresent(shared.resolve("fail2ban.log"), "control.socket"))
                .hasMessageContaining("is a symbolic link");
        files.checkOwnedIfPresent(shared.resolve("absent.sock"), "control.socket");

        // our own new file: created exclusively, with exactly the mode asked for (umask or not)
        FileSafety.Appender a = files.openForAppend(shared.resolve("own.log"), FileSafetyTestModes.RW_R, "fail2ban-log.path");
        a.channel().close();
        assertThat(a.created()).isTrue();
        assertThat(Files.getAttribute(shared.resolve("own.log"), "unix:mode")).isEqualTo(0100640);
        // ... which the other user can neither rename nor remove (sticky), so it stays ours
        assertThat(OtherUser.sh("mv " + shared.resolve("own.log") + " " + shared.resolve("x"))).isNotZero();
        assertThat(OtherUser.sh("rm -f " + shared.resolve("own.log"))).isNotZero();
    }

    @Test
    void replacingAFileReplacesAPlantedLinkNeverItsTarget() throws Exception {
        Path d = dir("state", "rwxrwxrwx");
        OtherUser.Victim victim = OtherUser.Victim.create(victims, "port-victim");
        OtherUser.must("ln -s " + victim.path() + " " + d.resolve("tlsjail.port"));
        // the temp name cannot be guessed and is created exclusively: plant a few likely ones too
        OtherUser.must("ln -s " + victim.path() + " " + d.resolve("tlsjail.port.tmp") + "; ln -s " + victim.path()
                + " " + d.resolve(".tlsjail.port.tmp"));
        FileSafety.writeAtomically(d.resolve("tlsjail.port"), "6619\n".getBytes(StandardCharsets.US_ASCII),
                FileSafetyTestModes.RW_R);
        victim.assertUntouched();
        Map<String, Object> a = Files.readAttributes(d.resolve("tlsjail.port"), "unix:mode,uid,isSymbolicLink",
                java.nio.file.LinkOption.NOFOLLOW_LINKS);
        assertThat(a.get("isSymbolicLink")).isEqualTo(false);
        assertThat(a.get("uid")).isEqualTo(0);
        assertThat(Files.readString(d.resolve("tlsjail.port"))).isEqualTo("6619\n");
        try (var s = Files.list(d)) {
            assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".tlsjail.port.") && n.endsWith(".tmp")
                    && !n.equals(".tlsjail.port.tmp"))).as("temp files left behind").isEmpty();
        }
    }
}

final class FileSafetyTestModes {
    static final java.util.Set<java.nio.file.attribute.PosixFilePermission> RW_R = PosixFilePermissions.fromString("rw-r-----");

    private FileSafetyTestModes() {
    }
}
