package org.tlsjail.daemon;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * {@code <state-dir>}: the ban journal, the demo PKI, the bound port and (by default) the control
 * socket and the Fail2Ban log. Checked for writability up front, so the operator reads "not
 * writable" instead of a failure halfway through start-up.
 */
final class StateDirectory {
    private final Path dir;

    private StateDirectory(Path dir) {
        this.dir = dir;
    }

    static StateDirectory prepare(Path dir) throws StartupException {
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-x---")));
            }
        } catch (IOException e) {
            throw new StartupException("cannot create state directory " + dir + " (" + reason(e)
                    + "); set state-dir or --state-dir to a directory this user may write");
        }
        Path probe = dir.resolve(".write-test-" + ProcessHandle.current().pid());
        try {
            Files.writeString(probe, "");
            Files.delete(probe);
        } catch (IOException e) {
            throw new StartupException("state directory " + dir + " is not writable by this user (" + reason(e)
                    + "); fix its owner/permissions or choose another state-dir");
        }
        return new StateDirectory(dir);
    }

    Path path() {
        return dir;
    }

    Path journal() {
        return dir.resolve("bans.journal");
    }

    Path demoPki() {
        return dir.resolve("demo-pki");
    }

    Path portFile() {
        return dir.resolve("tlsjail.port");
    }

    /** Records the bound TLS port (useful with {@code listen.port: 0}); replaced atomically. */
    void writePort(int port) throws IOException {
        Path tmp = dir.resolve("tlsjail.port.tmp");
        Files.writeString(tmp, port + "\n", StandardCharsets.US_ASCII);
        try {
            Files.move(tmp, portFile(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, portFile(), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    void removePort() {
        try {
            Files.deleteIfExists(portFile());
        } catch (IOException ignored) {
            // stale port file is harmless: it is rewritten on start
        }
    }

    static String reason(IOException e) {
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof java.nio.file.FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }
}
