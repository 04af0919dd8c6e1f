package org.tlsjail.bridge.haproxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * HAProxy's runtime API (its {@code stats socket}), in non-interactive mode: one connection per
 * request, the commands joined by {@code ;} on one line, and HAProxy closes the connection after
 * answering. Each command's answer ends with an empty line; an empty answer is a success for the
 * {@code add}/{@code del} commands.
 *
 * <p>Every request is bounded by a deadline (connect, write and read together) and its answer by
 * {@link #MAX_REPLY_BYTES}, so a hung or babbling HAProxy costs the bridge's thread at most the
 * timeout. Nothing read is echoed anywhere without being bounded by the bridge's status.
 */
final class HaproxyRuntimeApi {
    /** Far above a {@code show acl} of the engine's max-bans entries. */
    static final int MAX_REPLY_BYTES = 64 << 20;

    private final SocketAddress address;
    private final long timeoutNanos;

    HaproxyRuntimeApi(SocketAddress address, Duration timeout) {
        this.address = address;
        this.timeoutNanos = timeout.toNanos();
    }

    /** Runs {@code commands} in one request; returns one answer per command (its lines, without the empty last). */
    List<List<String>> run(List<String> commands) throws IOException {
        if (commands.isEmpty()) {
            return List.of();
        }
        byte[] request = (String.join("; ", commands) + "\n").getBytes(StandardCharsets.US_ASCII);
        long deadline = System.nanoTime() + timeoutNanos;
        ByteArrayOutputStream reply = new ByteArrayOutputStream();
        try (SocketChannel ch = SocketChannel.open(address instanceof java.net.UnixDomainSocketAddress
                ? java.net.StandardProtocolFamily.UNIX : family(address));
             Selector selector = Selector.open()) {
            ch.configureBlocking(false);
            if (!ch.connect(address)) {
                ch.register(selector, SelectionKey.OP_CONNECT);
                await(selector, deadline);
                ch.finishConnect();
            }
            ByteBuffer out = ByteBuffer.wrap(request);
            SelectionKey key = ch.register(selector, SelectionKey.OP_WRITE);
            while (out.hasRemaining()) {
                if (ch.write(out) == 0) {
                    await(selector, deadline);
                }
            }
            key.interestOps(SelectionKey.OP_READ);
            ByteBuffer in = ByteBuffer.allocate(64 << 10);
            while (true) {
                in.clear();
                int n = ch.read(in);
                if (n < 0) {
                    break;
                }
                if (n == 0) {
                    await(selector, deadline);
                    continue;
                }
                reply.write(in.array(), 0, n);
                if (reply.size() > MAX_REPLY_BYTES) {
                    throw new IOException("answer larger than " + MAX_REPLY_BYTES + " bytes");
                }
            }
        }
        return answers(reply.toString(StandardCharsets.UTF_8), commands.size());
    }

    private static java.net.ProtocolFamily family(SocketAddress a) {
        return ((java.net.InetSocketAddress) a).getAddress() instanceof java.net.Inet6Address
                ? java.net.StandardProtocolFamily.INET6 : java.net.StandardProtocolFamily.INET;
    }

    private void await(Selector selector, long deadline) throws IOException {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw new SocketTimeoutException("HAProxy did not answer within " + timeoutNanos / 1_000_000 + " ms");
        }
        selector.selectedKeys().clear();
        selector.select(Math.max(1, left / 1_000_000));
    }

    /** Splits a reply into the answers of {@code expected} commands: each ends with an empty line. */
    static List<List<String>> answers(String reply, int expected) throws IOException {
        List<List<String>> out = new ArrayList<>(expected);
        List<String> current = new ArrayList<>();
        for (String line : reply.split("\n", -1)) {
            if (out.size() == expected) {
                break;
            }
            if (line.isEmpty()) {
                out.add(current);
                current = new ArrayList<>();
            } else {
                current.add(line);
            }
        }
        if (out.size() < expected) {
            throw new IOException("HAProxy answered " + out.size() + " of " + expected + " command(s)"
                    + (reply.isEmpty() ? " (empty answer: is this a stats socket?)" : ""));
        }
        return out;
    }
}
