package org.tlsjail.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import org.tlsjail.control.ControlProtocol;

/** Sends one request to a running daemon's control socket and returns its reply. */
final class ControlClient {
    private final Path socket;

    ControlClient(Path socket) {
        this.socket = socket;
    }

    /**
     * The JDK's own AF_UNIX channel (Java 16+), not jnr: a CLI call must start in a fraction of a
     * second, and jnr-ffi generates its bindings at run time (about 300 classes, most of a second
     * here). The daemon still checks the peer's credentials on its side.
     *
     * @throws NotRunningException when no daemon listens on the socket
     */
    ControlProtocol.Reply send(List<String> words, int replyTimeoutMillis) throws IOException, NotRunningException {
        byte[] request = ControlProtocol.encodeRequest(words);
        if (!Files.exists(socket)) {
            if (Files.notExists(socket)) {
                throw new NotRunningException("tlsjail is not running (no control socket at " + socket + ")");
            }
            // neither there nor absent: a directory on the way may not be searched by this user
            throw new IOException("permission denied on " + socket + " (run as the daemon's user or root)");
        }
        checkPlacement(socket, ownUid());
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            ch.close();
            String m = String.valueOf(e.getMessage());
            if (m.toLowerCase(java.util.Locale.ROOT).contains("permission")) {
                throw new IOException("permission denied on " + socket + " (run as the daemon's user or root)");
            }
            throw new NotRunningException("tlsjail is not running (control socket " + socket + ": " + m + ")");
        }
        try (ch; Selector selector = Selector.open()) {
            ByteBuffer out = ByteBuffer.wrap(request);
            IOException writeFailed = null;
            try {
                while (out.hasRemaining()) {
                    ch.write(out);
                }
            } catch (IOException e) {
                // The daemon may have answered (e.g. refused us) and closed before reading: read that answer.
                writeFailed = e;
            }
            // Reading with a deadline: a blocking channel has no read timeout, a selector has.
            ch.configureBlocking(false);
            ch.register(selector, SelectionKey.OP_READ);
            ByteArrayOutputStream reply = new ByteArrayOutputStream();
            ByteBuffer in = ByteBuffer.allocate(64 * 1024);
            long deadline = System.nanoTime() + replyTimeoutMillis * 1_000_000L;
            while (true) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) {
                    throw new IOException("no reply from the daemon within " + replyTimeoutMillis / 1000 + " s");
                }
                selector.select(left);
                selector.selectedKeys().clear();
                in.clear();
                int n;
                try {
                    n = ch.read(in);
                } catch (IOException e) {
                    if (reply.size() > 0 || writeFailed != null) {
                        break; // connection reset after the reply
                    }
                    throw e;
                }
                if (n < 0) {
                    break;
                }
                reply.write(in.array(), 0, n);
                if (reply.size() > ControlProtocol.MAX_REPLY) {
                    throw new IOException("reply from the daemon is too large");
                }
            }
            if (reply.size() == 0 && writeFailed != null) {
                throw writeFailed;
            }
            return ControlProtocol.Reply.decode(reply.toString(StandardCharsets.UTF_8));
        }
    }

    /**
     * Refuses a socket that someone other than the daemon's user could have put there: the CLI
     * is often run by root, and a socket name in a directory others can write (a sticky one like
     * {@code /tmp} included) can be taken while the daemon is down, by a server of that user's
     * that answers "unbanned" to an unban or writes terminal escapes. A socket owned by this user
     * or root is fine; one owned by another user (tlsjail's, for root's CLI) only when no
     * directory above it can be written by anyone but its owner, and every one belongs to root or
     * to that user, so nobody else could have created it.
     */
    static void checkPlacement(Path socket, int ownUid) throws IOException {
        Map<String, Object> a = Files.readAttributes(socket, "unix:uid,isSymbolicLink", LinkOption.NOFOLLOW_LINKS);
        if ((Boolean) a.get("isSymbolicLink")) {
            throw new IOException("not talking to " + socket + ": it is a symbolic link, which tlsjail's control socket"
                    + " never is");
        }
        int owner = (Integer) a.get("uid");
        if (owner == ownUid || owner == 0) {
            return;
        }
        for (Path d = socket.toAbsolutePath().getParent().toRealPath(); d != null; d = d.getParent()) {
            Map<String, Object> m = Files.readAttributes(d, "unix:uid,mode", LinkOption.NOFOLLOW_LINKS);
            int uid = (Integer) m.get("uid");
            if ((uid != 0 && uid != owner) || ((Integer) m.get("mode") & 0022) != 0) {
                throw new IOException("not talking to " + socket + ": it belongs to uid " + owner + " and " + d
                        + " can be written by other users, so anyone could have put it there (give control.socket"
                        + " a directory only tlsjail's user can write, such as its state-dir)");
            }
        }
    }

    /**
     * A reply as it may reach a terminal: line breaks and tabs kept, other control characters
     * (ESC starts the sequences that retitle a terminal or write its clipboard) and the bidi
     * overrides that reorder what is shown become {@code ?}. The daemon's replies hold none;
     * this is for a reply that did not come from it.
     */
    static String forTerminal(String reply) {
        StringBuilder sb = null;
        for (int i = 0; i < reply.length(); i++) {
            char c = reply.charAt(i);
            boolean bad = (c < 0x20 && c != '\n' && c != '\t') || (c >= 0x7f && c <= 0x9f)
                    || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
            if (bad && sb == null) {
                sb = new StringBuilder(reply.length()).append(reply, 0, i);
            }
            if (sb != null) {
                sb.append(bad ? '?' : c);
            }
        }
        return sb == null ? reply : sb.toString();
    }

    /**
     * This process's user id, without jnr (see {@link #send}): the owner of its /proc entry. Where
     * /proc is not mounted, -1: then only root's sockets, or sockets placed as above, are trusted.
     */
    private static int ownUid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    static final class NotRunningException extends Exception {
        private static final long serialVersionUID = 1L;

        NotRunningException(String message) {
            super(message);
        }
    }
}
