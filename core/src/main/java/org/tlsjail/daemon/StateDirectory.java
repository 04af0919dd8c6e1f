package org.tlsjail.daemon;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.tlsjail.files.FileSafety;
import org.tlsjail.files.UnsafePathException;

/**
 * {@code <state-dir>}: the ban journal, the demo PKI, the bound port and (by default) the control
 * socket. Checked up front: it must be safe ({@link FileSafety}: no other user can change it) and
 * writable, so the operator reads one line instead of a failure halfway through start-up.
 */
final class StateDirectory {
    private static final java.util.Set<java.nio.file.attribute.PosixFilePermission> PORT_FILE_MODE =
            PosixFilePermissions.fromString("rw-r--r--");
    private final Path dir;
    private final FileSafety files;

    private StateDirectory(Path dir, FileSafety files) {
        this.dir = dir;
        this.files = files;
    }

    FileSafety files() {
        return files;
    }

    static StateDirectory prepare(Path dir, FileSafety files) throws StartupException {
        try {
            files.ensureDirectory(dir, "state-dir");
        } catch (UnsafePathException e) {
            throw StartupException.unsafe(e);
        } catch (IOException e) {
            throw new StartupException("cannot create state directory " + dir + " (" + reason(e)
                    + "); set state-dir or --state-dir to a directory this user may write");
        }
        try {
            // exclusively created under a fresh name: nothing planted in the directory is touched
            Files.delete(Files.createTempFile(dir, ".write-test-", ".tmp"));
        } catch (IOException e) {
            throw new StartupException("state directory " + dir + " is not writable by this user (" + reason(e)
                    + "); fix its owner/permissions or choose another state-dir");
        }
        return new StateDirectory(dir, files);
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

    /** Records the bound TLS port (useful with {@code listen.port: 0}); replaced atomically, never through a link. */
    void writePort(int port) throws IOException {
        FileSafety.writeAtomically(portFile(), (port + "\n").getBytes(StandardCharsets.US_ASCII), PORT_FILE_MODE);
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
