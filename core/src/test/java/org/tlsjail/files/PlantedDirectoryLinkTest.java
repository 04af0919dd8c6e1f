package org.tlsjail.files;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Red-team finding (main 6fccaf0): in a sticky shared directory (like /tmp, or the README's
 * /opt/os4x/tmp setup), another user may add names. A symbolic link planted there in place of a
 * directory tlsjail writes into (state-dir, the Fail2Ban log's directory, demo-pki) points at a
 * root-owned directory, so checkDirectory's ownership test, which reads every component through
 * links, passes, and tlsjail writes (and, with the demo PKI, replaces ca.pem, server-key.pem, ...)
 * in the victim's directory. Reproduced with the built daemon: root's server-key.pem overwritten by
 * the demo PKI; at run time, swapping the log directory's link made tlsjail append its lines to a
 * root-owned file of the same name elsewhere. A link whose owner is neither tlsjail's user nor
 * root must be refused in any component, as Linux's fs.protected_symlinks would (0 on this host).
 */
class PlantedDirectoryLinkTest {
    @TempDir
    Path root;
    private Path shared;
    private Path victimDir;
    private final FileSafety files = new FileSafety(0);

    @BeforeEach
    void setUp() throws Exception {
        OtherUser.assumeAvailable();
        OtherUser.letIn(List.of(root));
        shared = Files.createDirectory(root.resolve("shared"));
        Files.setAttribute(shared, "unix:mode", 01777); // root-owned, sticky, world-writable: accepted as such
        victimDir = Files.createDirectory(root.resolve("root-only"));
        Files.setPosixFilePermissions(victimDir, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @Test
    void aStateDirectoryLinkPlantedByAnotherUserIsRefused() throws Exception {
        OtherUser.Victim key = OtherUser.Victim.create(victimDir, "server-key.pem");
        OtherUser.must("ln -s " + victimDir + " " + shared.resolve("state"));

        assertThatThrownBy(() -> files.ensureDirectory(shared.resolve("state"), "state-dir"))
                .isInstanceOf(UnsafePathException.class).hasMessageContaining(shared.resolve("state").toString());
        assertThatThrownBy(() -> files.checkDirectory(shared.resolve("state").resolve("demo-pki").getParent(), "demo PKI"))
                .isInstanceOf(UnsafePathException.class);
        key.assertUntouched();
    }

    @Test
    void aLogDirectorySwappedForALinkWhileRunningIsRefusedAtTheNextCheck() throws Exception {
        Path logs = shared.resolve("logs");
        files.ensureDirectory(logs, "fail2ban-log.path"); // tlsjail's own directory, 0750, root's
        OtherUser.Victim other = OtherUser.Victim.create(victimDir, "fail2ban.log");
        // the directory is root's, so the other user cannot remove it; but a missing one (admin
        // cleanup, first start) is a free name in the sticky directory
        Files.delete(logs);
        OtherUser.must("ln -s " + victimDir + " " + logs);

        assertThatThrownBy(() -> files.checkDirectory(logs, "fail2ban-log.path")).isInstanceOf(UnsafePathException.class);
        assertThatThrownBy(() -> files.openForAppend(logs.resolve("fail2ban.log"), FileSafetyTestModes.RW_R, "fail2ban-log.path"))
                .isInstanceOf(UnsafePathException.class);
        other.assertUntouched();
    }
}
