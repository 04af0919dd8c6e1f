package org.tlsjail.fail2banlog;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.files.FileSafety;
import org.tlsjail.files.OtherUser;

/**
 * The Fail2Ban log while it runs, against a second local user: a log swapped for a symbolic link,
 * a link planted in the gap logrotate leaves, and the reopen that must create the file at once.
 */
class Fail2BanLogLinkTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path root;
    private Path victims;
    private final InetAddress source = InetAddress.getLoopbackAddress();

    @BeforeEach
    void setUp() throws Exception {
        victims = OtherUser.arena(root);
    }

    private Fail2BanLog open(Path file) throws Exception {
        return Fail2BanLog.open(Fail2BanLogConfig.of(file).withDated(false), InstantSource.fixed(Instant.EPOCH),
                new FileSafety(0));
    }

    private void line(Fail2BanLog log, String reason) throws Exception {
        assertThat(log.append(source, 167772359, reason, null)).isTrue();
        assertThat(log.flush(WAIT)).isTrue();
    }

    @Test
    void aLogSwappedForALinkWhileRunningIsNeverWrittenThroughAndReopenSaysWhy() throws Exception {
        Path dir = Files.createDirectory(root.resolve("log"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path file = dir.resolve("fail2ban.log");
        OtherUser.Victim victim = OtherUser.Victim.create(victims, "shadow");
        try (Fail2BanLog log = open(file)) {
            line(log, "first");
            // someone loosens the directory while tlsjail runs; the other user swaps the log for a link
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
            OtherUser.must("mv " + file + " " + dir.resolve("old.log") + " && ln -s " + victim.path() + " " + file);
            line(log, "second");
            line(log, "third");
            victim.assertUntouched();
            assertThat(log.failedWrites()).isEqualTo(2);
            assertThat(log.reopenAndWait(WAIT)).contains("fail2ban-log.path: directory " + dir)
                    .contains("is writable by group or others (mode 0777) without the sticky bit");
            victim.assertUntouched();
            assertThat(Files.readAllLines(dir.resolve("old.log"))).hasSize(1);

            // fixed by the operator: the next reopen creates a fresh file of tlsjail's, at once
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.delete(file);
            assertThat(log.reopenAndWait(WAIT)).isNull();
            assertThat(Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS)).isEqualTo(0100640);
            line(log, "fourth");
            assertThat(Files.readAllLines(file)).singleElement().asString().endsWith(": fourth");
            victim.assertUntouched();
        }
    }

    @Test
    void aLinkPlantedInTheGapLogrotateLeavesInAStickyDirectoryIsRefused() throws Exception {
        Path dir = Files.createDirectory(root.resolve("shared"));
        Files.setAttribute(dir, "unix:mode", 01777);
        Path file = dir.resolve("fail2ban.log");
        OtherUser.Victim victim = OtherUser.Victim.create(victims, "passwd");
        try (Fail2BanLog log = open(file)) {
            line(log, "before rotation");
            Files.move(file, dir.resolve("fail2ban.log.1")); // logrotate (root) renames ...
            OtherUser.must("ln -s " + victim.path() + " " + file); // ... and the other user is faster than postrotate
            assertThat(log.reopenAndWait(WAIT)).isEqualTo("refusing fail2ban-log.path: " + file
                    + " is a symbolic link; tlsjail never writes through links (remove it)");
            line(log, "after rotation");
            victim.assertUntouched();
            assertThat(log.failedWrites()).isEqualTo(1);
        }
    }

    @Test
    void reopenCreatesTheRenamedFileAtOnceWithItsMode() throws Exception {
        Path dir = Files.createDirectory(root.resolve("own"));
        Path file = dir.resolve("fail2ban.log");
        try (Fail2BanLog log = open(file)) {
            assertThat(file).exists(); // created by open, before any line
            line(log, "one");
            Files.move(file, dir.resolve("fail2ban.log.1"));
            assertThat(log.reopenAndWait(WAIT)).isNull();
            // no line has been written since: the file is there because reopen made it
            assertThat(Files.size(file)).isZero();
            assertThat(Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS)).isEqualTo(0100640);
        }
    }
}
