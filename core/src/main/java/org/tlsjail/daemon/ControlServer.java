package org.tlsjail.daemon;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
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
 * permissive directory or an inherited descriptor must not open the door). Each request is read
 * with a size limit and a deadline, so a stuck, slow or hostile client costs one short-lived
 * worker at most and never touches the daemon.
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
    private UnixServerSocketChannel server;
    private Thread acceptor;
    private volatile boolean closed;

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
        Files.setPosixFilePermissions(socketPath, PosixFilePermissions.fromString("rw-------"));
        acceptor = daemonThread(this::acceptLoop, "tlsjail-control");
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

    private void acceptLoop() {
        while (!closed) {
            UnixSocketChannel ch;
            try {
                ch = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("control socket accept failed: {}", e.toString());
                    sleepQuietly();
                }
                continue;
            }
            if (ch == null) {
                continue;
            }
            try {
                workers.execute(() -> serve(ch));
            } catch (RejectedExecutionException e) {
                closeQuietly(ch);
            }
        }
    }

    private void serve(UnixSocketChannel ch) {
        try (ch) {
            Credentials peer = ch.getOption(UnixSocketOptions.SO_PEERCRED);
            if (peer == null || (peer.getUid() != ownUid && peer.getUid() != 0)) {
                LOG.warn("control socket: refused a connection from uid {} (pid {})",
                        peer == null ? "?" : peer.getUid(), peer == null ? "?" : peer.getPid());
                write(ch, ControlProtocol.Reply.error("permission denied: only uid " + ownUid + " and root may control this daemon"));
                return;
            }
            ch.setOption(UnixSocketOptions.SO_RCVTIMEO, Math.min(500, requestTimeoutMillis));
            ch.setOption(UnixSocketOptions.SO_SNDTIMEO, ControlProtocol.REQUEST_TIMEOUT_MILLIS);
            String line = readRequest(ch);
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

    /** The request line, or null (after replying) when it is too long, too slow or not text. */
    private String readRequest(UnixSocketChannel ch) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(ControlProtocol.MAX_REQUEST + 1);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(requestTimeoutMillis);
        while (true) {
            for (int i = 0; i < buf.position(); i++) {
                if (buf.get(i) == '\n') {
                    return decode(ch, Arrays.copyOf(buf.array(), i));
                }
            }
            if (!buf.hasRemaining()) {
                write(ch, ControlProtocol.Reply.error("request too long"));
                return null;
            }
            if (System.nanoTime() - deadline > 0) {
                write(ch, ControlProtocol.Reply.error("request timed out"));
                return null;
            }
            int n;
            try {
                n = ch.read(buf);
            } catch (IOException e) {
                // SO_RCVTIMEO expiring surfaces as EAGAIN; loop to check the deadline.
                if (isTimeout(e)) {
                    continue;
                }
                throw e;
            }
            if (n < 0) {
                return null; // half-written request: the client gave up, nothing to do
            }
            if (n == 0) {
                sleepBriefly();
            }
        }
    }

    private static boolean isTimeout(IOException e) {
        String m = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT);
        return m.contains("again") || m.contains("timed out") || m.contains("would block");
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
        // A blocking accept() is not woken by closing the listening descriptor: poke it.
        if (server != null) {
            try (UnixSocketChannel poke = UnixSocketChannel.open(new UnixSocketAddress(socketPath.toFile()))) {
                poke.isConnected();
            } catch (IOException ignored) {
                // already gone
            }
        }
        try {
            if (server != null) {
                server.close();
            }
        } catch (IOException ignored) {
            // closing anyway
        }
        if (acceptor != null) {
            acceptor.interrupt();
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
