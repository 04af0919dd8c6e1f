package org.tlsjail.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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

    static final class NotRunningException extends Exception {
        private static final long serialVersionUID = 1L;

        NotRunningException(String message) {
            super(message);
        }
    }
}
