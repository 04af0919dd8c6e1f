package org.tlsjail.fail2banlog;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
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

    private final Fail2BanLogConfig config;
    private final InstantSource clock;
    private final ArrayBlockingQueue<String> queue;
    private final Thread writer;
    private final LongAdder dropped = new LongAdder();
    private final LongAdder failedWrites = new LongAdder();
    private final LongAdder written = new LongAdder();
    private final AtomicBoolean overflowWarned = new AtomicBoolean();
    private final Object progress = new Object();
    private volatile boolean reopenRequested;
    private volatile boolean closed;

    // writer thread only (and progress-guarded counters)
    private FileChannel channel;
    private Object fileKey;
    private long expectedSize;
    private boolean faulted;
    private boolean midLine; // writer thread only
    private long enqueued; // guarded by progress
    private long handled;  // guarded by progress

    private Fail2BanLog(Fail2BanLogConfig config, InstantSource clock) {
        this.config = config;
        this.clock = clock;
        this.queue = new ArrayBlockingQueue<>(config.queueCapacity());
        this.writer = new Thread(this::writeLoop, "tlsjail-fail2ban-log");
        this.writer.setDaemon(true);
    }

    /** Opens (creating with the configured mode if missing) and starts the writer thread. */
    public static Fail2BanLog open(Fail2BanLogConfig config, InstantSource clock) throws IOException {
        Fail2BanLog log = new Fail2BanLog(Objects.requireNonNull(config), Objects.requireNonNull(clock));
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
            if (closed || !queue.offer(line)) {
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

    /** For logrotate's postrotate: reopen the path before the next line. Never blocks. */
    public void reopen() {
        reopenRequested = true;
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
            ensureCurrentFile();
            for (String line : batch) {
                writeLine(line);
            }
            synchronized (progress) {
                handled += batch.size();
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
    private void ensureCurrentFile() {
        boolean reopen = reopenRequested || channel == null;
        reopenRequested = false;
        if (!reopen) {
            try {
                BasicFileAttributes a = Files.readAttributes(config.file(), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (!Objects.equals(a.fileKey(), fileKey)) {
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
                openFile();
            } catch (IOException e) {
                fault("cannot open " + config.file() + ": " + e);
            }
        }
    }

    private void fault(String message) {
        if (!faulted) {
            faulted = true;
            LOG.warn("Fail2Ban log fault: {} (reported once; lines are counted as failed until it clears)", message);
        }
    }

    private void openFile() throws IOException {
        FileChannel ch;
        try {
            ch = FileChannel.open(config.file(), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND);
            try {
                // set explicitly: a create mode would be narrowed by the process umask
                Files.setPosixFilePermissions(config.file(), config.mode());
            } catch (UnsupportedOperationException ignored) {
                // not a POSIX file system
            }
        } catch (FileAlreadyExistsException e) {
            // opening a FIFO (or a device) for writing can block the writer for ever: refuse it
            if (!Files.isRegularFile(config.file())) {
                throw new IOException(config.file() + " exists but is not a regular file");
            }
            ch = FileChannel.open(config.file(), StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        }
        channel = ch;
        BasicFileAttributes a = Files.readAttributes(config.file(), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
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
        try (FileChannel r = FileChannel.open(file, StandardOpenOption.READ)) {
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
