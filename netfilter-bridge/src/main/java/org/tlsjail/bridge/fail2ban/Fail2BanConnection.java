package org.tlsjail.bridge.fail2ban;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;
import jnr.unixsocket.UnixSocketOptions;
import net.razorvine.pickle.Pickler;

/**
 * One connection to a Fail2Ban server's unix socket, speaking its own protocol: a pickled list of
 * strings followed by {@code <F2B_END_COMMAND>}, answered by a pickle and the same terminator.
 *
 * <p>Every read is bounded by the socket's receive timeout and a deadline per request, and a reply
 * by {@link #MAX_REPLY_BYTES}, so a hanging or babbling server costs the calling thread (the
 * bridge's own) at most the timeout. Not thread-safe: one bridge thread owns it.
 */
final class Fail2BanConnection implements AutoCloseable {
    static final byte[] END = "<F2B_END_COMMAND>".getBytes(StandardCharsets.US_ASCII);
    static final byte[] CLOSE = "<F2B_CLOSE_COMMAND>".getBytes(StandardCharsets.US_ASCII);
    /** Far above a `get <jail> banned` of the engine's max-bans addresses. */
    static final int MAX_REPLY_BYTES = 64 << 20;

    private final UnixSocketChannel channel;
    private final long timeoutMillis;
    private final ByteBuffer readBuffer = ByteBuffer.allocate(64 << 10);

    private Fail2BanConnection(UnixSocketChannel channel, long timeoutMillis) {
        this.channel = channel;
        this.timeoutMillis = timeoutMillis;
    }

    static Fail2BanConnection open(Path socket, Duration timeout) throws IOException {
        UnixSocketChannel ch = UnixSocketChannel.open();
        try {
            int ms = (int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis()));
            ch.setOption(UnixSocketOptions.SO_RCVTIMEO, ms);
            // set before connecting: Linux bounds a unix-socket connect to a full backlog by it
            ch.setOption(UnixSocketOptions.SO_SNDTIMEO, ms);
            ch.connect(new UnixSocketAddress(socket.toFile()));
            return new Fail2BanConnection(ch, timeout.toMillis());
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Sends one command and returns the decoded reply; IOException if the transport failed. */
    Fail2BanReply send(List<String> command) throws IOException {
        byte[] pickle = new Pickler(false).dumps(command);
        ByteBuffer out = ByteBuffer.allocate(pickle.length + END.length).put(pickle).put(END).flip();
        while (out.hasRemaining()) {
            if (channel.write(out) < 0) {
                throw new IOException("connection closed while sending");
            }
        }
        byte[] reply = readReply(System.nanoTime() + timeoutMillis * 1_000_000L);
        return ReplyDecoder.decode(reply);
    }

    private byte[] readReply(long deadline) throws IOException {
        Reply reply = new Reply();
        while (true) {
            readBuffer.clear();
            int n;
            try {
                n = channel.read(readBuffer);
            } catch (IOException e) {
                if (System.nanoTime() - deadline >= 0) {
                    throw timeout(reply.size());
                }
                throw e;
            }
            if (n < 0 || (n == 0 && System.nanoTime() - deadline >= 0)) {
                // jnr reports an expired SO_RCVTIMEO as end-of-stream or as zero bytes
                if (System.nanoTime() - deadline >= 0) {
                    throw timeout(reply.size());
                }
                throw new IOException("connection closed by the server after " + reply.size() + " reply bytes");
            }
            reply.write(readBuffer.array(), 0, n);
            if (reply.size() > MAX_REPLY_BYTES) {
                throw new IOException("reply larger than " + MAX_REPLY_BYTES + " bytes");
            }
            if (reply.endsWith(END)) {
                return reply.withoutLast(END.length);
            }
            if (System.nanoTime() - deadline >= 0) {
                throw timeout(reply.size());
            }
        }
    }

    /** The reply so far; checks its end in place instead of copying it after every read. */
    private static final class Reply extends ByteArrayOutputStream {
        boolean endsWith(byte[] suffix) {
            if (count < suffix.length) {
                return false;
            }
            return Arrays.equals(buf, count - suffix.length, count, suffix, 0, suffix.length);
        }

        byte[] withoutLast(int n) {
            return Arrays.copyOf(buf, count - n);
        }
    }

    private SocketTimeoutException timeout(int got) {
        return new SocketTimeoutException("no complete reply within " + timeoutMillis + " ms (" + got + " bytes)");
    }

    @Override
    public void close() {
        try {
            if (channel.isOpen()) {
                // polite goodbye so the server frees its handler; best effort only
                ByteBuffer bye = ByteBuffer.allocate(CLOSE.length + END.length).put(CLOSE).put(END).flip();
                channel.write(bye);
            }
        } catch (IOException | RuntimeException ignored) {
            // the connection is being discarded anyway
        } finally {
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing left to release
            }
        }
    }
}
