package org.tlsjail.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;
import jnr.unixsocket.UnixSocketOptions;
import org.tlsjail.daemon.ControlProtocol;

/** Sends one request to a running daemon's control socket and returns its reply. */
final class ControlClient {
    private final Path socket;

    ControlClient(Path socket) {
        this.socket = socket;
    }

    /** @throws NotRunningException when no daemon listens on the socket */
    ControlProtocol.Reply send(List<String> words, int replyTimeoutMillis) throws IOException, NotRunningException {
        byte[] request = ControlProtocol.encodeRequest(words);
        if (!Files.exists(socket)) {
            throw new NotRunningException("tlsjail is not running (no control socket at " + socket + ")");
        }
        UnixSocketChannel ch;
        try {
            ch = UnixSocketChannel.open(new UnixSocketAddress(socket.toFile()));
        } catch (IOException e) {
            String m = String.valueOf(e.getMessage());
            if (m.toLowerCase(java.util.Locale.ROOT).contains("permission")) {
                throw new IOException("permission denied on " + socket + " (run as the daemon's user or root)");
            }
            throw new NotRunningException("tlsjail is not running (control socket " + socket + ": " + m + ")");
        }
        try (ch) {
            ch.setOption(UnixSocketOptions.SO_RCVTIMEO, replyTimeoutMillis);
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
            ByteArrayOutputStream reply = new ByteArrayOutputStream();
            ByteBuffer in = ByteBuffer.allocate(64 * 1024);
            long deadline = System.nanoTime() + replyTimeoutMillis * 1_000_000L;
            while (true) {
                in.clear();
                int n;
                try {
                    n = ch.read(in);
                } catch (IOException e) {
                    if (reply.size() > 0 || writeFailed != null) {
                        break; // connection reset after the reply
                    }
                    if (System.nanoTime() - deadline > 0) {
                        throw new IOException("no reply from the daemon within " + replyTimeoutMillis / 1000 + " s");
                    }
                    continue;
                }
                if (n < 0) {
                    break;
                }
                if (n == 0) {
                    if (System.nanoTime() - deadline > 0) {
                        throw new IOException("no reply from the daemon within " + replyTimeoutMillis / 1000 + " s");
                    }
                    continue;
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
