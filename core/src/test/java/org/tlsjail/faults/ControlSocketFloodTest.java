package org.tlsjail.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import jnr.posix.POSIXFactory;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;
import jnr.unixsocket.UnixSocketOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.control.ControlProtocol;
import org.tlsjail.control.ControlServer;

/**
 * Regression found by {@link ControlSocketFaultIT}: with its two workers each held for the whole
 * request deadline (5 s) by a client that sent half a request, and a queue of eight behind them,
 * ten hanging connections made every further request fail ("Broken pipe" in {@code tlsjail status}).
 */
class ControlSocketFloodTest {
    private static final int HANGING = 100;

    @TempDir
    Path dir;

    @Test
    void aHundredHalfWrittenRequestsNeitherBlockNorDelayACompleteOne() throws Exception {
        Path socket = dir.resolve("control.sock");
        ControlServer server = new ControlServer(socket, words -> ControlProtocol.Reply.ok("pong " + words),
                POSIXFactory.getNativePOSIX());
        List<UnixSocketChannel> hanging = new ArrayList<>();
        try {
            server.start();
            for (int i = 0; i < HANGING; i++) {
                UnixSocketChannel ch = UnixSocketChannel.open(new UnixSocketAddress(socket.toFile()));
                ch.write(ByteBuffer.wrap("sta".getBytes(StandardCharsets.US_ASCII)));
                hanging.add(ch);
            }
            long t0 = System.nanoTime();
            String reply = exchange(socket, "status\n");
            double ms = (System.nanoTime() - t0) / 1e6;
            assertThat(reply).isEqualTo("OK\npong [status]\n");
            // well inside the 5 s a hanging request may hold its place: nobody waited for them
            assertThat(ms).isLessThan(4_000);
            // past the cap, the oldest unfinished requests made room (and were told why)
            String oldest = read(hanging.get(0));
            assertThat(oldest).isEqualTo("ERR too many unfinished requests\n");
            System.out.printf("faults: control socket: a complete request answered in %.0f ms with %d half-written"
                    + " connections hanging (the oldest beyond the cap of 64 dropped with '%s')%n", ms, HANGING, oldest.strip());
        } finally {
            for (UnixSocketChannel ch : hanging) {
                ch.close();
            }
            server.close();
        }
    }

    private static String exchange(Path socket, String request) throws IOException {
        try (UnixSocketChannel ch = UnixSocketChannel.open(new UnixSocketAddress(socket.toFile()))) {
            ch.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII)));
            return read(ch);
        }
    }

    private static String read(UnixSocketChannel ch) throws IOException {
        ch.setOption(UnixSocketOptions.SO_RCVTIMEO, 10_000);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(4096);
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            buf.clear();
            int n = ch.read(buf);
            if (n < 0) {
                break;
            }
            out.write(buf.array(), 0, n);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
