package org.tlsjail.banengine;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Durable record of bans and unbans, so a restart (or a kill -9) keeps every active ban with its
 * original end time.
 *
 * <p>An append-only text file, one record a line, each line carrying its own CRC-32 so a torn or
 * overwritten line is recognised and skipped rather than misread:
 * <pre>
 * B 10.0.0.7 1764484916000 1764488516000 1 peer%20did%20not%20return%20a%20certificate #1a2b3c4d
 * U 10.0.0.7 1764485000000 #5e6f7a8b
 * </pre>
 * Every change is forced to disk before the engine's call returns. On {@link #open} the file is
 * replayed and rewritten at once with only the bans still in force (write to a temporary file,
 * fsync, atomic rename, fsync the directory), which both compacts it and cuts off a torn tail
 * before anything is appended after it; later compactions happen when the file holds many more
 * records than live bans. A write that fails (disk full, say) is logged once and retried by a
 * compaction at the next change, so no ban is silently lost while the engine keeps running.
 */
public final class BanJournal implements BanListener, Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(BanJournal.class);
    private static final int MAX_LINE = 4096;
    private static final int MIN_COMPACT_RECORDS = 1000;
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

    private final Path file;
    private final InstantSource clock;
    private final Map<SourceKey, BanRecord> live = new LinkedHashMap<>();
    private final ReplayReport replay;
    private FileChannel out;
    private int records;
    private boolean failing;

    /**
     * What {@link #open} found in the file.
     *
     * @param restorable   bans still in force, in file order
     * @param expired      bans that had ended while tlsjail was down
     * @param corruptLines lines skipped as torn or corrupt
     * @param firstProblem the first skipped line's description, or null
     */
    public record ReplayReport(List<BanRecord> restorable, int expired, int corruptLines, String firstProblem) {
    }

    private BanJournal(Path file, InstantSource clock, ReplayReport replay) {
        this.file = file;
        this.clock = clock;
        this.replay = replay;
        replay.restorable().forEach(r -> live.put(r.key(), r));
    }

    /** Replays {@code file} (a missing file is an empty journal), compacts it and opens it for appending. */
    public static synchronized BanJournal open(Path file, InstantSource clock) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        ReplayReport report = replay(file, clock.millis());
        if (report.corruptLines() > 0) {
            LOG.warn("ban journal {}: skipped {} corrupt or torn line(s); first: {}", file, report.corruptLines(),
                    report.firstProblem());
        }
        BanJournal journal = new BanJournal(file, clock, report);
        journal.compact();
        return journal;
    }

    public ReplayReport replayReport() {
        return replay;
    }

    /** Puts the replayed bans back into {@code engine}; call before adding the journal as a listener. */
    public int restoreInto(BanEngine engine) {
        int n = 0;
        for (BanRecord r : replay.restorable()) {
            if (engine.restore(r)) {
                n++;
            }
        }
        return n;
    }

    @Override
    public synchronized void onBan(BanRecord ban) {
        live.put(ban.key(), ban);
        append(banLine(ban));
    }

    @Override
    public synchronized void onUnban(BanRecord ban, UnbanCause cause) {
        live.remove(ban.key());
        append(seal("U " + ban.key() + " " + clock.millis()));
    }

    @Override
    public synchronized void close() throws IOException {
        if (out != null) {
            out.close();
            out = null;
        }
    }

    private void append(String line) {
        try {
            if (failing || out == null || (records > MIN_COMPACT_RECORDS && records > 4 * live.size())) {
                compact(); // also the recovery path after a failed write: rewrites everything live
                return;
            }
            write(out, line);
            out.force(false);
            records++;
        } catch (IOException e) {
            if (!failing) {
                LOG.error("ban journal {}: write failed, bans are kept in memory and retried at the next change: {}",
                        file, e.toString());
            }
            failing = true;
        }
    }

    private void compact() throws IOException {
        long now = clock.millis();
        live.values().removeIf(r -> r.untilMillis() <= now);
        // A fresh, exclusively created (O_EXCL, mode 0600 from birth) temp file: a name planted in
        // the directory, e.g. a symlink to another file, is never opened or truncated.
        Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + file.getFileName() + ".",
                ".tmp", OWNER_ONLY);
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                for (BanRecord r : live.values()) {
                    write(ch, banLine(r));
                }
                ch.force(true);
            }
            try {
                // rename(2) replaces the name itself, never a link's target
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        syncDirectory(file.toAbsolutePath().getParent());
        if (out != null) {
            out.close();
        }
        out = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND, LinkOption.NOFOLLOW_LINKS);
        records = live.size();
        if (failing) {
            LOG.info("ban journal {}: writing again", file);
        }
        failing = false;
    }

    // ---------------------------------------------------------------- format

    private static String banLine(BanRecord r) {
        return seal("B " + r.key() + " " + r.since().toEpochMilli() + " "
                + (r.isPermanent() ? -1 : r.until().toEpochMilli()) + " " + r.banCount() + " " + word(r.reason()));
    }

    /** Reasons are free text; in the journal they are one percent-encoded word (at most 200 characters). */
    private static String word(String reason) {
        if (reason == null || reason.isEmpty()) {
            return "-";
        }
        String r = reason.length() > 200 ? reason.substring(0, 200) : reason;
        return java.net.URLEncoder.encode(r, StandardCharsets.UTF_8).replace("+", "%20");
    }

    private static String unword(String word) {
        return word.equals("-") ? "" : java.net.URLDecoder.decode(word, StandardCharsets.UTF_8);
    }

    private static String seal(String body) {
        CRC32 crc = new CRC32();
        crc.update(body.getBytes(StandardCharsets.US_ASCII));
        return body + " #" + String.format("%08x", crc.getValue());
    }

    private static void write(FileChannel ch, String line) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.US_ASCII));
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    private static ReplayReport replay(Path file, long now) throws IOException {
        Map<SourceKey, BanRecord> state = new LinkedHashMap<>();
        int corrupt = 0;
        String first = null;
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            // a symlink planted as the journal fails here (ELOOP) instead of being read
            try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
                LineReader lines = new LineReader(in);
                String line;
                while ((line = lines.next()) != null) {
                    String problem = apply(line, state);
                    if (problem != null) {
                        corrupt++;
                        if (first == null) {
                            first = "line " + lines.number + ": " + problem;
                        }
                    }
                }
            }
        }
        List<BanRecord> restorable = new ArrayList<>();
        int expired = 0;
        for (BanRecord r : state.values()) {
            if (r.untilMillis() > now) {
                restorable.add(r);
            } else {
                expired++;
            }
        }
        return new ReplayReport(List.copyOf(restorable), expired, corrupt, first);
    }

    /** Applies one line to {@code state}; returns why it was skipped, or null. */
    private static String apply(String line, Map<SourceKey, BanRecord> state) {
        if (line == LineReader.OVERLONG) {
            return "longer than " + MAX_LINE + " bytes";
        }
        int hash = line.lastIndexOf(" #");
        if (hash < 0) {
            return "no checksum (torn write?)";
        }
        String body = line.substring(0, hash);
        if (!seal(body).equals(line)) {
            return "checksum mismatch";
        }
        String[] f = body.split(" ");
        try {
            if (f[0].equals("B") && f.length == 6) {
                SourceKey key = SourceKey.parse(f[1]);
                long until = Long.parseLong(f[3]);
                state.put(key, new BanRecord(key, Instant.ofEpochMilli(Long.parseLong(f[2])),
                        until < 0 ? null : Instant.ofEpochMilli(until), Integer.parseInt(f[4]), unword(f[5])));
                return null;
            }
            if (f[0].equals("U") && f.length == 3) {
                state.remove(SourceKey.parse(f[1]));
                return null;
            }
        } catch (RuntimeException e) {
            return "unreadable record: " + e.getMessage();
        }
        return "unknown record type";
    }

    private static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // some file systems refuse to open a directory; the rename is still atomic
        }
    }

    /** Reads '\n'-terminated lines as Latin-1 (garbage bytes cannot fail decoding), null-marking overlong ones. */
    private static final class LineReader {
        private final InputStream in;
        private final byte[] buf = new byte[MAX_LINE];
        int number;
        private boolean eof;
        /** Marks a line longer than MAX_LINE; compared by identity. */
        static final String OVERLONG = new String("overlong");

        LineReader(InputStream in) {
            this.in = new java.io.BufferedInputStream(in, 65536);
        }

        /** The next non-empty line, {@link #OVERLONG}, or null at the end of the file. */
        String next() throws IOException {
            while (!eof) {
                int n = 0;
                boolean overlong = false;
                int b;
                while ((b = in.read()) != -1 && b != '\n') {
                    if (n < MAX_LINE) {
                        buf[n++] = (byte) b;
                    } else {
                        overlong = true;
                    }
                }
                if (b == -1) {
                    eof = true;
                    if (n == 0 && !overlong) {
                        return null;
                    }
                }
                number++;
                if (overlong) {
                    return OVERLONG;
                }
                String line = new String(buf, 0, n, StandardCharsets.ISO_8859_1);
                if (!line.isEmpty()) {
                    return line;
                }
            }
            return null;
        }
    }

}
