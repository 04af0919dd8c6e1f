package org.tlsjail.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import jnr.posix.POSIXFactory;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ControlServerTest {
    @TempDir
    Path dir;

    private final List<List<String>> seen = new CopyOnWriteArrayList<>();
    private ControlServer server;
    private Path socket;

    @BeforeEach
    void start() throws IOException {
        socket = dir.resolve("control.sock");
        server = new ControlServer(socket, words -> {
            seen.add(words);
            return ControlProtocol.Reply.ok("echo " + String.join(",", words));
        }, POSIXFactory.getNativePOSIX(), 400);
        server.start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private String exchange(byte[] request, boolean closeOutput) throws IOException {
        try (UnixSocketChannel ch = UnixSocketChannel.open(new UnixSocketAddress(socket.toFile()))) {
            ch.write(ByteBuffer.wrap(request));
            if (closeOutput) {
                ch.shutdownOutput();
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(4096);
            int n;
            while ((n = ch.read(buf)) > 0 || n == 0) {
                out.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            return out.toString(StandardCharsets.UTF_8);
        }
    }

    @Test
    void socketIsOwnerOnly() throws IOException {
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-------");
    }

    @Test
    void answersOneRequestLine() throws IOException {
        assertThat(exchange("status\n".getBytes(StandardCharsets.UTF_8), false)).isEqualTo("OK\necho status\n");
        assertThat(exchange("ban 10.0.0.1 1h\n".getBytes(StandardCharsets.UTF_8), false))
                .isEqualTo("OK\necho ban,10.0.0.1,1h\n");
    }

    @Test
    void garbageHugeHalfWrittenAndSlowRequestsAreRejectedAndTheServerKeepsServing() throws IOException {
        assertThat(exchange(new byte[] {(byte) 0xff, (byte) 0xfe, 0x00, '\n'}, false)).startsWith("ERR malformed request");
        assertThat(exchange("a\u0001b\n".getBytes(StandardCharsets.UTF_8), false)).startsWith("ERR malformed request");
        byte[] huge = new byte[64 * 1024];
        java.util.Arrays.fill(huge, (byte) 'x');
        // The reply may race with the unread rest of the request (the kernel then resets the connection).
        try {
            assertThat(exchange(huge, false)).startsWith("ERR request too long");
        } catch (IOException reset) {
            assertThat(reset.getMessage()).containsIgnoringCase("reset");
        }
        assertThat(exchange("stat".getBytes(StandardCharsets.UTF_8), true)).isEmpty(); // half-written, then EOF
        assertThat(exchange("stat".getBytes(StandardCharsets.UTF_8), false)).startsWith("ERR request timed out");
        assertThat(seen).isEmpty();
        assertThat(exchange("status\n".getBytes(StandardCharsets.UTF_8), false)).isEqualTo("OK\necho status\n");
    }

    @Test
    void aSecondServerOnALiveSocketRefusesToStartAndAStaleSocketIsReplaced() throws IOException {
        ControlServer second = new ControlServer(socket, w -> ControlProtocol.Reply.ok(""), POSIXFactory.getNativePOSIX());
        assertThatThrownBy(second::start).hasMessageContaining("already running");
        server.close();
        // simulate kill -9: a socket file nobody listens on
        Files.deleteIfExists(socket);
        try (jnr.unixsocket.UnixServerSocketChannel stale = jnr.unixsocket.UnixServerSocketChannel.open()) {
            stale.socket().bind(new UnixSocketAddress(socket.toFile()));
        }
        assertThat(Files.exists(socket)).isTrue();
        server = new ControlServer(socket, w -> ControlProtocol.Reply.ok("fresh"), POSIXFactory.getNativePOSIX());
        server.start();
        assertThat(exchange("status\n".getBytes(StandardCharsets.UTF_8), false)).isEqualTo("OK\nfresh\n");
    }

    @Test
    void aRegularFileInThePlaceOfTheSocketIsNotDeleted() throws IOException {
        server.close();
        Files.writeString(socket, "important");
        ControlServer s = new ControlServer(socket, w -> ControlProtocol.Reply.ok(""), POSIXFactory.getNativePOSIX());
        assertThatThrownBy(s::start).hasMessageContaining("is not a socket");
        assertThat(Files.readString(socket)).isEqualTo("important");
    }
}
