package org.tlsjail.files;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How tlsjail touches the file system, in the manner of sshd's StrictModes: it writes only into
 * directories that no other user can change under it, and never through a link another user could
 * have planted.
 *
 * <ul>
 * <li>A directory it writes into, and every directory above it, must be owned by tlsjail's user or
 *     root and not writable by group or others, unless it has the sticky bit (like {@code /tmp}:
 *     others may add names but cannot rename or remove ours).</li>
 * <li>An existing file it opens for writing must be a regular file (not a symbolic link, FIFO or
 *     device), owned by tlsjail's user or root, with one hard link.</li>
 * <li>Files are opened with {@code O_NOFOLLOW}; new files with {@code O_EXCL}; files that are
 *     replaced are written to a new, exclusively created temporary file renamed into place.</li>
 * </ul>
 * Every refusal is an {@link UnsafePathException} with one line naming the path and the problem.
 */
public final class FileSafety {
    /** Mode of directories tlsjail creates. */
    public static final Set<PosixFilePermission> DIRECTORY_MODE = PosixFilePermissions.fromString("rwxr-x---");
    private static final int GROUP_OR_OTHER_WRITE = 0022;
    private static final int STICKY = 01000;

    private final int ownUid;

    /** @param ownUid the effective user id tlsjail runs as (root is trusted in addition) */
    public FileSafety(int ownUid) {
        this.ownUid = ownUid;
    }

    /** For the user this process runs as. */
    public static FileSafety forThisProcess() {
        return new FileSafety(jnr.posix.POSIXFactory.getNativePOSIX().geteuid());
    }

    public int ownUid() {
        return ownUid;
    }

    /**
     * Creates {@code dir} (mode 0750) if missing, then checks it and every directory above it.
     *
     * @param what the option the directory comes from, for the message (e.g. {@code state-dir})
     */
    public void ensureDirectory(Path dir, String what) throws IOException {
        Path abs = dir.toAbsolutePath().normalize();
        if (!Files.isDirectory(abs)) {
            Path existing = abs.getParent();
            while (existing != null && !Files.exists(existing)) {
                existing = existing.getParent();
            }
            if (existing != null) {
                checkDirectory(existing, what);
            }
            Files.createDirectories(abs, PosixFilePermissions.asFileAttribute(DIRECTORY_MODE));
        }
        checkDirectory(abs, what);
    }

    /** Checks an existing directory and every directory above it (as written and as resolved). */
    public void checkDirectory(Path dir, String what) throws IOException {
        Path abs = dir.toAbsolutePath().normalize();
        List<Path> chain = new ArrayList<>(ancestors(abs));
        // A link on the way is only as trustworthy as its owner: another user's link in a sticky,
        // world-writable directory would pass every check below (they read through it) and send
        // tlsjail's files into any directory root owns. The kernel's fs.protected_symlinks stops
        // this only where it is on.
        for (Path p : chain) {
            Map<String, Object> l = Files.readAttributes(p, "unix:uid,isSymbolicLink", LinkOption.NOFOLLOW_LINKS);
            int uid = (Integer) l.get("uid");
            if ((Boolean) l.get("isSymbolicLink") && !trusted(uid)) {
                throw new UnsafePathException(what + ": " + p + " is a symbolic link owned by uid " + uid
                        + ", not by tlsjail's user (uid " + ownUid + ") or root; tlsjail never follows another"
                        + " user's links (remove it, or choose another directory)");
            }
        }
        Path real = abs.toRealPath();
        if (!real.equals(abs)) {
            chain.addAll(ancestors(real));
        }
        for (Path p : chain) {
            Map<String, Object> a = Files.readAttributes(p, "unix:uid,mode,isDirectory");
            if (!(Boolean) a.get("isDirectory")) {
                throw new UnsafePathException(what + ": " + p + " is not a directory");
            }
            int uid = (Integer) a.get("uid");
            int mode = (Integer) a.get("mode");
            if (!trusted(uid)) {
                throw new UnsafePathException(what + ": directory " + p + " is owned by uid " + uid
                        + ", not by tlsjail's user (uid " + ownUid + ") or root; another user could replace"
                        + " tlsjail's files there (chown it, or choose another directory)");
            }
            if ((mode & GROUP_OR_OTHER_WRITE) != 0 && (mode & STICKY) == 0) {
                throw new UnsafePathException(what + ": directory " + p + " is writable by group or others (mode "
                        + String.format("%04o", mode & 07777) + ") without the sticky bit; another user could replace"
                        + " tlsjail's files there (chmod go-w it, or choose another directory)");
            }
        }
    }

    private static List<Path> ancestors(Path abs) {
        List<Path> out = new ArrayList<>();
        for (Path p = abs; p != null; p = p.getParent()) {
            out.add(0, p);
        }
        return out;
    }

    private boolean trusted(int uid) {
        return uid == ownUid || uid == 0;
    }

    /**
     * Checks an existing file before it is opened for writing, without following a link.
     *
     * @return false if there is no such file
     */
    public boolean checkExistingFile(Path file, String what) throws IOException {
        Map<String, Object> a;
        try {
            a = Files.readAttributes(file, "unix:uid,nlink,isSymbolicLink,isRegularFile", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return false;
        }
        if ((Boolean) a.get("isSymbolicLink")) {
            throw new UnsafePathException(what + ": " + file + " is a symbolic link; tlsjail never writes through links"
                    + " (remove it)");
        }
        if (!(Boolean) a.get("isRegularFile")) {
            throw new UnsafePathException(what + ": " + file + " is not a regular file");
        }
        int uid = (Integer) a.get("uid");
        if (!trusted(uid)) {
            throw new UnsafePathException(what + ": " + file + " is owned by uid " + uid + ", not by tlsjail's user (uid "
                    + ownUid + ") or root (remove it; tlsjail creates it)");
        }
        int links = (Integer) a.get("nlink");
        if (links > 1) {
            throw new UnsafePathException(what + ": " + file + " has " + links + " hard links; it could be another"
                    + " file's name (remove it; tlsjail creates it)");
        }
        return true;
    }

    /**
     * Checks a name tlsjail will replace or remove (a stale control socket): if it exists it must
     * not be a link and must belong to tlsjail's user or root; another user's socket planted in a
     * sticky directory would otherwise pass for a running tlsjail, or be removed on its behalf.
     */
    public void checkOwnedIfPresent(Path file, String what) throws IOException {
        Map<String, Object> a;
        try {
            a = Files.readAttributes(file, "unix:uid,isSymbolicLink", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return;
        }
        if ((Boolean) a.get("isSymbolicLink")) {
            throw new UnsafePathException(what + ": " + file + " is a symbolic link; tlsjail never writes through links"
                    + " (remove it)");
        }
        int uid = (Integer) a.get("uid");
        if (!trusted(uid)) {
            throw new UnsafePathException(what + ": " + file + " is owned by uid " + uid + ", not by tlsjail's user (uid "
                    + ownUid + ") or root (remove it; tlsjail creates it)");
        }
    }

    /** An append-only channel on {@code file}; {@code created} tells whether this call created it. */
    public record Appender(FileChannel channel, boolean created) {
    }

    /**
     * Opens {@code file} for appending without following links: creates it exclusively with
     * {@code mode} (set explicitly, so the umask does not narrow it), or opens the existing file
     * after {@link #checkExistingFile}.
     */
    public Appender openForAppend(Path file, Set<PosixFilePermission> mode, String what) throws IOException {
        // O_NOFOLLOW guards the last component only: a directory on the way may have been swapped
        // for another user's link since start (a reopen after rotation is when that would be followed)
        checkDirectory(file.toAbsolutePath().getParent(), what);
        try {
            FileChannel ch = FileChannel.open(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND, LinkOption.NOFOLLOW_LINKS), PosixFilePermissions.asFileAttribute(mode));
            try {
                setMode(file, mode);
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
            return new Appender(ch, true);
        } catch (FileAlreadyExistsException e) {
            if (!checkExistingFile(file, what)) {
                throw new UnsafePathException(what + ": " + file + " disappeared while it was opened; retrying later");
            }
            // O_NOFOLLOW: a link swapped in after the check fails here (ELOOP) instead of being followed
            return new Appender(FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND,
                    LinkOption.NOFOLLOW_LINKS), false);
        }
    }

    /**
     * Replaces {@code file} with {@code data}: written to a new temporary file created exclusively
     * next to it, given {@code mode}, synced and renamed over {@code file} (a rename replaces the
     * name itself, never a link's target). A reader never sees half a file.
     */
    public static void writeAtomically(Path file, byte[] data, Set<PosixFilePermission> mode) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        // born 0600 at most: nobody can open it between creation and the final chmod
        Path tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
                 OutputStream out = Channels.newOutputStream(ch)) {
                out.write(data);
                out.flush();
                ch.force(true);
            }
            setMode(tmp, mode);
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** chmod without following a link (the JDK opens the file with O_NOFOLLOW and uses fchmod). */
    static void setMode(Path file, Set<PosixFilePermission> mode) throws IOException {
        PosixFileAttributeView v = Files.getFileAttributeView(file, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
        if (v != null) {
            v.setPermissions(mode);
        }
    }

    /** The file's identity and size as the name shows it now, without following a link. */
    public static BasicFileAttributes lstat(Path file) throws IOException {
        return Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    }
}
