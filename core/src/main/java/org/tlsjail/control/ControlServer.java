package org.tlsjail.control;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import jnr.enxio.channels.NativeSelectorProvider;
import jnr.posix.POSIX;
import jnr.unixsocket.Credentials;
import jnr.unixsocket.UnixServerSocketChannel;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;
import jnr.unixsocket.UnixSocketOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's control socket: a unix domain socket, mode 0600, that only the daemon's own user
 * and root may use (checked again per connection from the kernel's peer credentials, since a
 * permissive directory or an inherited descriptor must not open the door). Request lines are
 * collected by one selector thread with a size limit and a deadline each, and only complete ones go
 * to the two workers: a stuck, slow, half-written or hostile client costs a 1 KB buffer until its
 * deadline, never a worker, and never delays another client's request.
 */
public final class ControlServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ControlServer.class);

    /** What the daemon does with one request (already split into words). */
    public interface Commands {
        ControlProtocol.Reply handle(List<String> words);
    }

    private final Path socketPath;
    private final Commands commands;
    private final POSIX posix;
    private final int ownUid;
    private final ThreadPoolExecutor workers;
    private final int requestTimeoutMillis;
    /** Connections whose request line is incomplete, oldest first (control thread only). */
    private final LinkedHashMap<UnixSocketChannel, Pending> pending = new LinkedHashMap<>();
    private UnixServerSocketChannel server;
    private Selector selector;
    private Thread acceptor;
    private volatile boolean closed;

    /** Unfinished requests kept at most; past that the oldest is dropped for the newest. */
    static final int MAX_PENDING = 64;
    private static final long SELECT_TICK_MILLIS = 100;

    public ControlServer(Path socketPath, Commands commands, POSIX posix) {
        this(socketPath, commands, posix, ControlProtocol.REQUEST_TIMEOUT_MILLIS);
    }

    ControlServer(Path socketPath, Commands commands, POSIX posix, int requestTimeoutMillis) {
        this.requestTimeoutMillis = requestTimeoutMillis;
        this.socketPath = socketPath;
        this.commands = commands;
        this.posix = posix;
        this.ownUid = posix.geteuid();
        // Two workers and a short queue: control traffic is rare; a flood is shed, not queued.
        this.workers = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(8),
                r -> daemonThread(r, "tlsjail-control-worker"));
    }

    /** Binds the socket (replacing a stale one left by a killed daemon) and starts accepting. */
    public void start() throws IOException {
        Path parent = socketPath.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        if (Files.exists(socketPath, LinkOption.NOFOLLOW_LINKS)) {
            removeStale();
        }
        server = UnixServerSocketChannel.open();
        // umask 0177 while bind() creates the file: it is born 0600, with no window in which another
        // user could connect. Done before the daemon starts threads that create files.
        int old = posix.umask(0177);
        try {
            server.socket().bind(new UnixSocketAddress(socketPath.toFile()));
        } finally {
            posix.umask(old);
        }
        // born 0600 by the umask above; check rather than chmod, which would follow a link planted in its place
        int mode = (Integer) Files.getAttribute(socketPath, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if ((mode & 0777) != 0600 || Files.isSymbolicLink(socketPath)) {
            server.close();
            throw new IOException(socketPath + " is not the socket just bound with mode 0600 (mode "
                    + Integer.toOctalString(mode) + "); refusing to use it");
        }
        selector = NativeSelectorProvider.getInstance().openSelector();
        server.configureBlocking(false);
        server.register(selector, SelectionKey.OP_ACCEPT);
        acceptor = daemonThread(this::selectLoop, "tlsjail-control");
        acceptor.start();
        LOG.info("control socket listening on {}", socketPath);
    }

    private void removeStale() throws IOException {
        if (Files.isRegularFile(socketPath, LinkOption.NOFOLLOW_LINKS) || Files.isDirectory(socketPath, LinkOption.NOFOLLOW_LINKS)
                || Files.isSymbolicLink(socketPath)) {
            throw new IOException(socketPath + " exists and is not a socket; refusing to replace it");
        }
        try (UnixSocketChannel probe = UnixSocketChannel.open(new UnixSocketAddress(socketPath.toFile()))) {
            throw new IOException("another tlsjail is already running (its control socket " + socketPath
                    + " answers); stop it first or use another state-dir");
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("another tlsjail")) {
                throw e;
            }
            LOG.info("removing stale control socket {} left by a previous run", socketPath);
            Files.deleteIfExists(socketPath);
        }
    }

    /**
     * The control thread: accepts, checks the peer, and collects each connection's request line
     * without blocking (a selector over every open connection). Only complete requests reach the
     * two workers, so clients that connect and hang, trickle, or send half a request cost a small
     * buffer each and never delay anyone else's request; the oldest of too many is dropped.
     */
    private void selectLoop() {
        while (!closed) {
            try {
                selector.select(SELECT_TICK_MILLIS);
            } catch (IOException | RuntimeException e) {
                if (!closed) {
                    LOG.warn("control socket select failed: {}", e.toString());
                    sleepQuietly();
                }
                continue;
            }
            if (closed) {
                break;
            }
            Iterator<SelectionKey> it = selector.selectedKeys().iterator();
            while (it.hasNext()) {
                SelectionKey key = it.next();
                it.remove();
                if (!key.isValid()) {
                    continue;
                }
                if (key.isAcceptable()) {
                    acceptOne();
                } else if (key.isReadable()) {
                    readSome(key);
                }
            }
            expireSlowRequests();
        }
        for (Pending p : new ArrayList<>(pending.values())) {
            drop(p);
        }
    }

    /** One connection whose request line is still being read. */
    private static final class Pending {
        final UnixSocketChannel channel;
        final SelectionKey key;
        final ByteBuffer buf = ByteBuffer.allocate(ControlProtocol.MAX_REQUEST + 1);
        final long deadline;
        /** Non-null for a peer that may not control the daemon: the answer to whatever it asks. */
        final ControlProtocol.Reply refusal;

        Pending(UnixSocketChannel channel, SelectionKey key, long deadline, ControlProtocol.Reply refusal) {
            this.channel = channel;
            this.key = key;
            this.deadline = deadline;
            this.refusal = refusal;
        }
    }

    private void acceptOne() {
        UnixSocketChannel ch;
        try {
            ch = server.accept();
        } catch (IOException e) {
            if (!closed) {
                LOG.warn("control socket accept failed: {}", e.toString());
            }
            return;
        }
        if (ch == null) {
            return;
        }
        try {
            Credentials peer = ch.getOption(UnixSocketOptions.SO_PEERCRED);
            ControlProtocol.Reply refusal = null;
            if (peer == null || (peer.getUid() != ownUid && peer.getUid() != 0)) {
                LOG.warn("control socket: refused a connection from uid {} (pid {})",
                        peer == null ? "?" : peer.getUid(), peer == null ? "?" : peer.getPid());
                // answered once its request is read: closing with the request unread would reset
                // the connection and the client might never see why
                refusal = ControlProtocol.Reply.error("permission denied: only uid " + ownUid + " and root may control this daemon");
            }
            ch.configureBlocking(false);
            if (pending.size() >= MAX_PENDING) {
                // Too many unfinished requests: the oldest has waited longest; it goes, the new one is served.
                Pending oldest = pending.values().iterator().next();
                writeQuietly(oldest.channel, ControlProtocol.Reply.error("too many unfinished requests"));
                drop(oldest);
            }
            SelectionKey key = ch.register(selector, SelectionKey.OP_READ);
            Pending p = new Pending(ch, key, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(requestTimeoutMillis), refusal);
            key.attach(p);
            pending.put(ch, p);
        } catch (IOException | RuntimeException e) {
            LOG.debug("control connection ended: {}", e.toString());
            closeQuietly(ch);
        }
    }

    private void readSome(SelectionKey key) {
        Pending p = (Pending) key.attachment();
        try {
            int n = p.channel.read(p.buf);
            if (n < 0) {
                drop(p); // half-written request: the client gave up, nothing to do
                return;
            }
            for (int i = 0; i < p.buf.position(); i++) {
                if (p.buf.get(i) == '\n') {
                    if (p.refusal != null) {
                        writeQuietly(p.channel, p.refusal);
                        drop(p);
                        return;
                    }
                    byte[] line = Arrays.copyOf(p.buf.array(), i);
                    forget(p);
                    dispatch(p.channel, line);
                    return;
                }
            }
            if (!p.buf.hasRemaining()) {
                writeQuietly(p.channel, p.refusal != null ? p.refusal : ControlProtocol.Reply.error("request too long"));
                drop(p);
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("control connection ended: {}", e.toString());
            drop(p);
        }
    }

    private void expireSlowRequests() {
        long now = System.nanoTime();
        for (Pending p : new ArrayList<>(pending.values())) {
            if (now - p.deadline > 0) {
                writeQuietly(p.channel, p.refusal != null ? p.refusal : ControlProtocol.Reply.error("request timed out"));
                drop(p);
            }
        }
    }

    /** A complete request line goes to a worker; when both are busy and the queue is full, it is refused. */
    private void dispatch(UnixSocketChannel ch, byte[] line) {
        try {
            workers.execute(() -> serve(ch, line));
        } catch (RejectedExecutionException e) {
            writeQuietly(ch, ControlProtocol.Reply.error("busy, try again"));
            closeQuietly(ch);
        }
    }

    private void forget(Pending p) {
        pending.remove(p.channel);
        p.key.cancel();
    }

    private void drop(Pending p) {
        forget(p);
        closeQuietly(p.channel);
    }

    /** Runs on a worker: the request line is complete; the channel is non-blocking. */
    private void serve(UnixSocketChannel ch, byte[] bytes) {
        try (ch) {
            String line = decode(ch, bytes);
            if (line == null) {
                return;
            }
            List<String> words = Arrays.asList(line.split(" ", 16));
            ControlProtocol.Reply reply;
            try {
                reply = commands.handle(words);
            } catch (RuntimeException e) {
                LOG.warn("control command '{}' failed", words.get(0), e);
                reply = ControlProtocol.Reply.error("internal error: " + e);
            }
            write(ch, reply);
        } catch (IOException | RuntimeException e) {
            LOG.debug("control connection ended: {}", e.toString());
        }
    }

    /** A short reply to a connection being dropped: best effort, never waits. */
    private static void writeQuietly(UnixSocketChannel ch, ControlProtocol.Reply reply) {
        try {
            ch.write(ByteBuffer.wrap(reply.encode()));
        } catch (IOException | RuntimeException ignored) {
            // the client is gone or does not read; it is being closed anyway
        }
    }

    private String decode(UnixSocketChannel ch, byte[] bytes) throws IOException {
        try {
            String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
            if (s.endsWith("\r")) {
                s = s.substring(0, s.length() - 1);
            }
            if (s.isEmpty() || s.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
                write(ch, ControlProtocol.Reply.error("malformed request"));
                return null;
            }
            return s;
        } catch (CharacterCodingException e) {
            write(ch, ControlProtocol.Reply.error("malformed request"));
            return null;
        }
    }

    private static void write(UnixSocketChannel ch, ControlProtocol.Reply reply) throws IOException {
        ByteBuffer out = ByteBuffer.wrap(reply.encode());
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ControlProtocol.REQUEST_TIMEOUT_MILLIS);
        while (out.hasRemaining()) {
            if (ch.write(out) == 0) {
                if (System.nanoTime() - deadline > 0) {
                    throw new IOException("client does not read its reply");
                }
                sleepBriefly();
            }
        }
    }

    public Path socketPath() {
        return socketPath;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (selector != null) {
            selector.wakeup();
        }
        if (acceptor != null) {
            try {
                acceptor.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            if (server != null) {
                server.close();
            }
            if (selector != null) {
                selector.close();
            }
        } catch (IOException ignored) {
            // closing anyway
        }
        workers.shutdownNow();
        try {
            if (server != null && !Files.isRegularFile(socketPath, LinkOption.NOFOLLOW_LINKS)) {
                Files.deleteIfExists(socketPath);
            }
        } catch (IOException e) {
            LOG.debug("could not remove {}: {}", socketPath, e.toString());
        }
    }

    private static Thread daemonThread(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    private static void closeQuietly(UnixSocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }

    private static void sleepBriefly() {
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleepQuietly() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
