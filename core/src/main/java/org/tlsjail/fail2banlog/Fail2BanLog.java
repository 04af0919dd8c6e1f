package org.tlsjail.fail2banlog;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsjail.banengine.Addresses;
import org.tlsjail.banengine.FailureOutcome;
import org.tlsjail.files.FileSafety;
import org.tlsjail.files.UnsafePathException;
import org.tlsjail.listener.HandshakeFailure;
import org.tlsjail.listener.HandshakeObserver;

/**
 * The Fail2Ban log: one line per failed handshake in OS4X's format,
 * {@code TLS error <code> during connect try from <address>[ (<CN>)]: <reason>}, by default
 * followed by {@code " [<ISO-8601 time>]"}, which Fail2Ban's date detector finds at the end of the
 * line (a leading timestamp would break the filter's {@code ^TLS error} anchor).
 *
 * <p>Callers never block: lines go into a bounded queue; a single writer thread appends them
 * (O_APPEND, one write per line, no user-space buffer, so each line is in the file at once).
 * Overflow drops the line, counts it and warns once. Before each batch the writer checks that the
 * path still names the open file (logrotate rename+create, deletion) and reopens if not; an
 * O_APPEND descriptor keeps working after copytruncate (writes go to the new end), and a shrunken
 * file is reported. File faults are logged once and writing resumes when they clear.
 */
public final class Fail2BanLog implements HandshakeObserver, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Fail2BanLog.class);
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX");

    /** Queued by {@link #reopen()} to wake the writer at once; compared by identity, never written. */
    private static final String REOPEN = new String("reopen");

    private final Fail2BanLogConfig config;
    private final InstantSource clock;
    private final FileSafety files;
    private final ArrayBlockingQueue<String> queue;
    private final Thread writer;
    private final LongAdder dropped = new LongAdder();
    private final LongAdder failedWrites = new LongAdder();
    private final LongAdder written = new LongAdder();
    private final AtomicBoolean overflowWarned = new AtomicBoolean();
    private final Object progress = new Object();
    private boolean reopenRequested; // guarded by progress
    private volatile boolean closed;

    // writer thread only (and progress-guarded counters)
    private FileChannel channel;
    private Object fileKey;
    private long expectedSize;
    private boolean faulted;
    private boolean midLine; // writer thread only
    private long enqueued; // guarded by progress
    private long handled;  // guarded by progress
    private long reopensRequested; // guarded by progress
    private long reopensDone;      // guarded by progress
    private volatile String lastFault;

    private Fail2BanLog(Fail2BanLogConfig config, InstantSource clock, FileSafety files) {
        this.config = config;
        this.clock = clock;
        this.files = files;
        this.queue = new ArrayBlockingQueue<>(config.queueCapacity());
        this.writer = new Thread(this::writeLoop, "tlsjail-fail2ban-log");
        this.writer.setDaemon(true);
    }

    /** {@link #open(Fail2BanLogConfig, InstantSource, FileSafety)} for the user this process runs as. */
    public static Fail2BanLog open(Fail2BanLogConfig config, InstantSource clock) throws IOException {
        return open(config, clock, FileSafety.forThisProcess());
    }

    /**
     * Checks the file's directory ({@link FileSafety}: creates it, mode 0750, if missing), opens the
     * file (creating it with the configured mode if missing, never through a link) and starts the
     * writer thread. The file exists when this returns, so a Fail2Ban started next finds it.
     */
    public static Fail2BanLog open(Fail2BanLogConfig config, InstantSource clock, FileSafety files) throws IOException {
        Fail2BanLog log = new Fail2BanLog(Objects.requireNonNull(config), Objects.requireNonNull(clock),
                Objects.requireNonNull(files));
        files.ensureDirectory(config.file().toAbsolutePath().getParent(), "fail2ban-log.path");
        log.openFile();
        log.writer.start();
        return log;
    }

    public Fail2BanLogConfig config() {
        return config;
    }

    /** Formats one line (without newline): the only place the format is defined. */
    public String format(InetAddress source, long code, String reason, String peerName, Instant at) {
        StringBuilder sb = new StringBuilder(160);
        sb.append("TLS error ").append(code).append(" during connect try from ").append(Addresses.format(source));
        if (peerName != null) {
            sb.append(" (").append(LogText.safe(peerName)).append(')');
        }
        sb.append(": ").append(reason);
        if (config.dated()) {
            sb.append(" [").append(TIME.format(at.atZone(config.zone()))).append(']');
        }
        return sb.toString();
    }

    /**
     * Queues one line. {@code reason} must be tlsjail's own text (never client text);
     * {@code peerName} (a rejected certificate's CN) is sanitised. Returns false if the line was dropped.
     */
    public boolean append(InetAddress source, long code, String reason, String peerName, Instant at) {
        String line = format(source, code, sanitizeOwn(reason), peerName, at) + "\n";
        synchronized (progress) {
            if (closed || !queue.offer(line)) { // (the queue's capacity includes rare REOPEN markers)
                dropped.increment();
                if (overflowWarned.compareAndSet(false, true)) {
                    LOG.warn("Fail2Ban log queue full ({} lines): dropping lines for {} (further drops are only counted)",
                            config.queueCapacity(), config.file());
                }
                return false;
            }
            enqueued++;
        }
        return true;
    }

    /** Queues one line stamped with the log's clock. */
    public boolean append(InetAddress source, long code, String reason, String peerName) {
        return append(source, code, reason, peerName, clock.instant());
    }

    @Override
    public void onFailure(HandshakeFailure f, FailureOutcome outcome) {
        append(f.remote().getAddress(), f.code(), f.reason(), f.kind() == org.tlsjail.listener.FailureKind.CERTIFICATE_REJECTED
                ? (f.peerCommonName() == null ? "" : f.peerCommonName()) : null, f.at());
    }

    /**
     * For logrotate's postrotate: the writer reopens the path at once, creating the file (with its
     * mode) if the rotation renamed it away, so a Fail2Ban (re)started right after finds it.
     * Never blocks.
     */
    public void reopen() {
        synchronized (progress) {
            // count and flag together: the writer takes both at once, so a request it counts is one it acts on
            reopensRequested++;
            reopenRequested = true;
        }
        queue.offer(REOPEN); // if the queue is full the writer is busy and sees the flag at its next batch
    }

    /**
     * {@link #reopen()} and wait (bounded) until the writer has done it.
     *
     * @return null if the file is open now, else why not (the fault, reported once in the log too)
     */
    public String reopenAndWait(Duration timeout) throws InterruptedException {
        long target;
        synchronized (progress) {
            target = reopensRequested + 1;
        }
        reopen();
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (progress) {
            while (reopensDone < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return "the writer did not answer within " + timeout.toSeconds() + " s";
                }
                TimeUnit.NANOSECONDS.timedWait(progress, left);
            }
        }
        return lastFault;
    }

    /** Waits until every line queued before this call has been handled (written or counted as failed). */
    public boolean flush(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (progress) {
            long target = enqueued;
            while (handled < target) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(progress, left);
            }
        }
        return true;
    }

    /** Lines written to the file. */
    public long written() {
        return written.sum();
    }

    /** Lines dropped because the queue was full or the log closed. */
    public long dropped() {
        return dropped.sum();
    }

    /** Lines that could not be written because of a file fault. */
    public long failedWrites() {
        return failedWrites.sum();
    }

    @Override
    public void close() {
        try {
            flush(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closed = true;
        writer.interrupt();
        try {
            writer.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeChannel();
    }

    /** Reasons are tlsjail's fixed strings; still, no newline or control char may ever pass. */
    private static String sanitizeOwn(String reason) {
        StringBuilder sb = new StringBuilder(reason.length());
        for (int i = 0; i < reason.length(); i++) {
            char c = reason.charAt(i);
            sb.append(c < 0x20 || c > 0x7e ? '_' : c);
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------ writer thread

    private void writeLoop() {
        List<String> batch = new ArrayList<>();
        while (!closed) {
            String first;
            try {
                first = queue.poll(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                if (closed) {
                    break;
                }
                continue;
            }
            if (first == null) {
                continue;
            }
            batch.add(first);
            queue.drainTo(batch, 255);
            long reopens;
            boolean reopenNow;
            synchronized (progress) {
                reopens = reopensRequested;
                reopenNow = reopenRequested;
                reopenRequested = false;
            }
            ensureCurrentFile(reopenNow);
            int lines = 0;
            for (String line : batch) {
                if (line != REOPEN) {
                    writeLine(line);
                    lines++;
                }
            }
            synchronized (progress) {
                handled += lines;
                reopensDone = Math.max(reopensDone, reopens);
                progress.notifyAll();
            }
            batch.clear();
        }
    }

    private void writeLine(String line) {
        if (channel == null) {
            failedWrites.increment();
            return;
        }
        // after a write cut short (disk full) the file ends mid-line: end that fragment first, so
        // it stays a line of its own that no filter reads as part of this one
        ByteBuffer buf = ByteBuffer.wrap((midLine ? "\n" + line : line).getBytes(StandardCharsets.US_ASCII));
        try {
            while (buf.hasRemaining()) {
                channel.write(buf);
            }
            expectedSize += buf.capacity();
            midLine = false;
            written.increment();
            if (faulted) {
                // only a line that really reached the file clears a fault: a reopen can succeed on a full disk
                faulted = false;
                LOG.info("Fail2Ban log {} is writable again", config.file());
            }
        } catch (IOException e) {
            if (buf.position() > 0 && !dropFragment(buf.position())) {
                expectedSize += buf.position();
                midLine = true;
            }
            failedWrites.increment();
            fault("cannot write to " + config.file() + ": " + e);
            closeChannel();
        }
    }

    /** Detects rename, deletion, replacement and truncation of the file, and reopens as needed. */
    private void ensureCurrentFile(boolean requested) {
        boolean reopen = requested || channel == null;
        if (!reopen) {
            try {
                BasicFileAttributes a = FileSafety.lstat(config.file());
                if (a.isSymbolicLink()) {
                    // never followed: the reopen below refuses it and reports it once
                    reopen = true;
                } else if (!Objects.equals(a.fileKey(), fileKey)) {
                    LOG.info("Fail2Ban log {} was replaced (rotated); reopening", config.file());
                    reopen = true;
                } else if (a.size() < expectedSize) {
                    LOG.info("Fail2Ban log {} was truncated (copytruncate); appending at its new end", config.file());
                    expectedSize = a.size();
                }
            } catch (NoSuchFileException e) {
                LOG.info("Fail2Ban log {} was removed; recreating it", config.file());
                reopen = true;
            } catch (IOException e) {
                reopen = true;
            }
        }
        if (reopen) {
            closeChannel();
            try {
                // the directory may have been loosened since start: check it again before creating in it
                files.checkDirectory(config.file().toAbsolutePath().getParent(), "fail2ban-log.path");
                openFile();
                lastFault = null;
            } catch (UnsafePathException e) {
                fault("refusing " + e.getMessage());
            } catch (IOException e) {
                fault("cannot open " + config.file() + ": " + e);
            }
        }
    }

    private void fault(String message) {
        lastFault = message;
        if (!faulted) {
            faulted = true;
            LOG.warn("Fail2Ban log fault: {} (reported once; lines are counted as failed until it clears)", message);
        }
    }

    private void openFile() throws IOException {
        // O_NOFOLLOW, O_EXCL when created, and an existing file must be a regular file of ours with
        // one link: a symlink, FIFO or another user's file in its place is refused, never opened
        FileSafety.Appender opened = files.openForAppend(config.file(), config.mode(), "fail2ban-log.path");
        channel = opened.channel();
        BasicFileAttributes a = FileSafety.lstat(config.file());
        fileKey = a.fileKey();
        expectedSize = a.size();
        midLine = a.size() > 0 && !endsWithNewline(config.file(), a.size());
    }

    /** Cuts off the {@code n} bytes of a line whose write failed half-way (disk full). */
    private boolean dropFragment(int n) {
        try {
            channel.truncate(channel.size() - n);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean endsWithNewline(java.nio.file.Path file, long size) {
        try (FileChannel r = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            ByteBuffer last = ByteBuffer.allocate(1);
            return r.read(last, size - 1) == 1 && last.get(0) == '\n';
        } catch (IOException e) {
            return true; // unreadable: assume whole lines rather than add blank ones
        }
    }

    private void closeChannel() {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing buffered: every line was written with its own write()
            }
            channel = null;
        }
    }
}
