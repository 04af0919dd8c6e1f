package org.tlsjail.banengine;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 *
 * <p><b>Group commit.</b> The engine tells the journal of a change under its lock; the journal
 * only queues the line there (no file I/O under the engine's lock). A writer thread of its own
 * takes everything queued, writes it and forces it to disk with one fsync, however many bans
 * and unbans arrived meanwhile. The engine's call returns only after {@link #awaitDurable()}
 * (called by the engine once it has released its lock) sees its record on disk, so an
 * acknowledged ban survives a kill -9.
 *
 * <p>On {@link #open} the file is replayed (validated record by record, see
 * {@link JournalReader}) and rewritten at once with only the bans still in force (to a new,
 * exclusively created temporary file, fsync, atomic rename, fsync the directory), which both
 * compacts it and cuts off a torn tail before anything is appended after it; the writer
 * compacts again when the file holds many more records than live bans. The journal is never
 * opened through a symbolic link. A write that fails (disk full, say) is logged once and
 * retried by a compaction at the next change, so no ban is silently lost while the engine keeps
 * running.
 */
public final class BanJournal implements BanListener, Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(BanJournal.class);
    private static final int MIN_COMPACT_RECORDS = 1000;
    private static final OpenOption[] APPEND = {StandardOpenOption.WRITE, StandardOpenOption.APPEND,
            LinkOption.NOFOLLOW_LINKS};
    private static final SecureRandom TMP_NAMES = new SecureRandom();

    private final Path file;
    private final InstantSource clock;
    private final ReplayReport replay;
    private final Thread writer;

    // guarded by this
    private final Map<SourceKey, BanRecord> live = new LinkedHashMap<>();
    private StringBuilder pending = new StringBuilder();
    private long enqueued;
    private long durable;
    private boolean closing;
    private boolean writerDone;

    // writer thread only (and open(), before the writer starts)
    private FileChannel out;
    private int records;
    private boolean failing;
    private volatile long batches;

    /**
     * What {@link #open} found in the file.
     *
     * @param restorable     bans still in force (at most max-bans: those ending latest)
     * @param expired        bans that had ended while tlsjail was down
     * @param corruptLines   lines skipped as torn, corrupt or unreadable
     * @param invalidRecords sound records skipped because what they say cannot be right under the
     *                       configuration (ban count below 1, a prefix that is not the ban unit,
     *                       a start in the future, an end past the longest ban)
     * @param overCap        bans still in force but over max-bans (the ones ending soonest)
     * @param firstProblem   the first skipped line's description, or null
     */
    public record ReplayReport(List<BanRecord> restorable, int expired, int corruptLines, int invalidRecords,
                               int overCap, String firstProblem) {
        /** Lines and records skipped, for whatever reason. */
        public int skipped() {
            return corruptLines + invalidRecords;
        }
    }

    private BanJournal(Path file, InstantSource clock, ReplayReport replay) {
        this.file = file;
        this.clock = clock;
        this.replay = replay;
        replay.restorable().forEach(r -> live.put(r.key(), r));
        writer = new Thread(this::writeLoop, "tlsjail-ban-journal");
        writer.setDaemon(true);
    }

    /** As {@link #open(Path, InstantSource, JailConfig)} with the default jail settings. */
    public static BanJournal open(Path file, InstantSource clock) throws IOException {
        return open(file, clock, JailConfig.defaults());
    }

    /**
     * Replays {@code file} (a missing file is an empty journal) under {@code config}'s ban units,
     * longest ban and max-bans, compacts it and opens it for appending.
     */
    public static synchronized BanJournal open(Path file, InstantSource clock, JailConfig config) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        ReplayReport report = replay(file, clock.millis(), config);
        if (report.skipped() > 0) {
            LOG.warn("ban journal {}: skipped {} line(s): {} corrupt or torn, {} invalid; first: {}", file,
                    report.skipped(), report.corruptLines(), report.invalidRecords(), report.firstProblem());
        }
        if (report.overCap() > 0) {
            LOG.warn("ban journal {}: {} ban(s) over jail.max-bans {} not restored (those ending soonest)", file,
                    report.overCap(), config.maxBans());
        }
        BanJournal journal = new BanJournal(file, clock, report);
        removeStaleTemporaries(file);
        journal.compact(new ArrayList<>(journal.live.values()));
        journal.writer.start();
        return journal;
    }

    public ReplayReport replayReport() {
        return replay;
    }

    /** Lines and records skipped at open (corrupt or invalid); the daemon shows it in its status. */
    public int skippedRecords() {
        return replay.skipped();
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

    /** Queues the record; called under the engine's lock, so it only touches memory. */
    @Override
    public synchronized void onBan(BanRecord ban) {
        live.put(ban.key(), ban);
        enqueue(banLine(ban));
    }

    @Override
    public synchronized void onUnban(BanRecord ban, UnbanCause cause) {
        live.remove(ban.key());
        enqueue(seal("U " + ban.key() + " " + clock.millis()));
    }

    /** Waits until every record queued so far has been forced to disk (or the journal is closed). */
    @Override
    public synchronized void awaitDurable() {
        long target = enqueued;
        boolean interrupted = false;
        while (durable < target && !writerDone) {
            try {
                wait();
            } catch (InterruptedException e) {
                interrupted = true; // the caller's record must still be durable when it returns
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Writes what is queued, then stops the writer and closes the file. */
    @Override
    public void close() throws IOException {
        synchronized (this) {
            closing = true;
            notifyAll();
        }
        try {
            writer.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            writerDone = true;
            notifyAll();
        }
        if (!writer.isAlive() && out != null) {
            out.close();
            out = null;
        }
    }

    /** Batches written since open (each one write and one fsync, or one compaction): for tests. */
    long batches() {
        return batches;
    }

    private void enqueue(String line) {
        pending.append(line).append('\n');
        enqueued++;
        notifyAll();
    }

    // ---------------------------------------------------------------- writer thread

    private void writeLoop() {
        try {
            while (true) {
                String batch;
                long upTo;
                List<BanRecord> snapshot = null;
                synchronized (this) {
                    while (pending.length() == 0 && !closing) {
                        wait();
                    }
                    if (pending.length() == 0) {
                        return;
                    }
                    batch = pending.toString();
                    pending = new StringBuilder(Math.min(batch.length() * 2, 1 << 16));
                    upTo = enqueued;
                    if (failing || out == null || (records > MIN_COMPACT_RECORDS && records > 4 * live.size())) {
                        snapshot = new ArrayList<>(live.values()); // the state after exactly these records
                    }
                }
                try {
                    if (snapshot != null) {
                        compact(snapshot); // also the recovery path after a failed write
                    } else {
                        write(out, batch);
                        out.force(false);
                        records += (int) batch.chars().filter(c -> c == '\n').count();
                    }
                } catch (IOException e) {
                    if (!failing) {
                        LOG.error("ban journal {}: write failed, bans are kept in memory and retried at the next change: {}",
                                file, e.toString());
                    }
                    failing = true;
                }
                batches++;
                synchronized (this) {
                    durable = upTo;
                    notifyAll();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            LOG.error("ban journal {}: writer stopped", file, e);
            throw e;
        } finally {
            synchronized (this) {
                writerDone = true;
                notifyAll();
            }
        }
    }

    /** Rewrites the file with {@code bans} (the ended ones left out): exclusive temporary file, fsync, rename. */
    private void compact(List<BanRecord> bans) throws IOException {
        long now = clock.millis();
        Path tmp = createTemporary();
        int n = 0;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                StringBuilder sb = new StringBuilder();
                for (BanRecord r : bans) {
                    if (r.untilMillis() > now) {
                        sb.append(banLine(r)).append('\n');
                        n++;
                        if (sb.length() > 1 << 16) {
                            write(ch, sb.toString());
                            sb.setLength(0);
                        }
                    }
                }
                write(ch, sb.toString());
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        syncDirectory(file.toAbsolutePath().getParent());
        if (out != null) {
            out.close();
        }
        out = FileChannel.open(file, APPEND);
        records = n;
        if (failing) {
            LOG.info("ban journal {}: writing again", file);
        }
        failing = false;
    }

    /** A new file beside the journal that nobody else made: never reused, never a link. */
    private Path createTemporary() throws IOException {
        FileAttribute<?>[] attrs = posix(file) ? new FileAttribute<?>[] {
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))} : new FileAttribute<?>[0];
        for (int attempt = 0; ; attempt++) {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp-" + Long.toUnsignedString(TMP_NAMES.nextLong(), 36));
            try {
                Files.newByteChannel(tmp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                        LinkOption.NOFOLLOW_LINKS), attrs).close();
                return tmp;
            } catch (FileAlreadyExistsException e) {
                if (attempt == 10) {
                    throw e;
                }
            }
        }
    }

    /** Temporary files a kill -9 left in the middle of a compaction. */
    private static void removeStaleTemporaries(Path file) {
        Path dir = file.toAbsolutePath().getParent();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, file.getFileName() + ".tmp-*")) {
            for (Path p : s) {
                Files.deleteIfExists(p); // removes a link itself, never its target
            }
        } catch (IOException e) {
            LOG.debug("ban journal {}: cannot clean temporary files: {}", file, e.toString());
        }
    }

    private static boolean posix(Path p) {
        return p.toAbsolutePath().getFileSystem().supportedFileAttributeViews().contains("posix");
    }

    // ---------------------------------------------------------------- format

    static String banLine(BanRecord r) {
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

    static String seal(String body) {
        CRC32 crc = new CRC32();
        crc.update(body.getBytes(StandardCharsets.US_ASCII));
        String hex = Long.toHexString(crc.getValue());
        return body + " #" + "00000000".substring(hex.length()) + hex;
    }

    private static void write(FileChannel ch, String text) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    private static ReplayReport replay(Path file, long now, JailConfig config) throws IOException {
        JournalReader reader = new JournalReader(config, now);
        List<BanRecord> restorable;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            restorable = reader.read(ch);
        } catch (NoSuchFileException e) {
            restorable = List.of();
        }
        return new ReplayReport(List.copyOf(restorable), reader.expired, reader.corrupt, reader.invalid, reader.overCap,
                reader.firstProblem);
    }

    private static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // some file systems refuse to open a directory; the rename is still atomic
        }
    }
}
