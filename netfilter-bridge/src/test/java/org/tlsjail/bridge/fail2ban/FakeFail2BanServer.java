package org.tlsjail.bridge.fail2ban;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import jnr.unixsocket.UnixServerSocketChannel;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;
import net.razorvine.pickle.Pickler;
import net.razorvine.pickle.Unpickler;

/**
 * A misbehaving stand-in for fail2ban-server, for fault injection only: it reads requests the way
 * Fail2Ban does and answers whatever {@code responder} returns (raw bytes, terminator included),
 * or nothing at all when it returns null (a hanging server).
 */
final class FakeFail2BanServer implements AutoCloseable {
    static final byte[] END = Fail2BanConnection.END;

    private final UnixServerSocketChannel server;
    private final Thread acceptor;
    private final List<UnixSocketChannel> clients = new CopyOnWriteArrayList<>();
    final List<List<String>> requests = new CopyOnWriteArrayList<>();
    volatile Function<List<String>, byte[]> responder;

    FakeFail2BanServer(Path socket, Function<List<String>, byte[]> responder) throws IOException {
        this.responder = responder;
        server = UnixServerSocketChannel.open();
        server.socket().bind(new UnixSocketAddress(socket.toFile()));
        acceptor = new Thread(this::acceptLoop, "fake-fail2ban");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** A well-formed reply: pickle of {@code (code, value)} plus the terminator. */
    static byte[] reply(int code, Object value) {
        return frame(pickle(new Object[] {code, value}));
    }

    static byte[] pickle(Object o) {
        try {
            return new Pickler(false).dumps(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] frame(byte[] body) {
        byte[] out = new byte[body.length + END.length];
        System.arraycopy(body, 0, out, 0, body.length);
        System.arraycopy(END, 0, out, body.length, END.length);
        return out;
    }

    /** Answers ping and status like a server with the given jail, everything else via {@code rest}. */
    static Function<List<String>, byte[]> healthyExcept(Function<List<String>, byte[]> rest) {
        return cmd -> {
            if (cmd.equals(List.of("ping"))) {
                return reply(0, "pong");
            }
            if (cmd.size() == 2 && cmd.get(0).equals("status")) {
                return reply(0, new ArrayList<>());
            }
            if (cmd.size() == 3 && cmd.get(2).equals("banned")) {
                return reply(0, new ArrayList<>());
            }
            return rest.apply(cmd);
        };
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            try {
                UnixSocketChannel c = server.accept();
                if (c == null) {
                    continue;
                }
                clients.add(c);
                Thread t = new Thread(() -> serve(c), "fake-fail2ban-client");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    @SuppressWarnings("unchecked")
    private void serve(UnixSocketChannel c) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ByteBuffer in = ByteBuffer.allocate(4096);
        try {
            while (true) {
                in.clear();
                int n = c.read(in);
                if (n < 0) {
                    return;
                }
                buf.write(in.array(), 0, n);
                byte[] all = buf.toByteArray();
                int end = indexOf(all, END);
                while (end >= 0) {
                    byte[] req = java.util.Arrays.copyOfRange(all, 0, end);
                    byte[] rest = java.util.Arrays.copyOfRange(all, end + END.length, all.length);
                    buf.reset();
                    buf.write(rest);
                    all = rest;
                    if (new String(req, java.nio.charset.StandardCharsets.US_ASCII).equals("<F2B_CLOSE_COMMAND>")) {
                        return;
                    }
                    List<String> cmd = (List<String>) new Unpickler().loads(req);
                    requests.add(cmd);
                    byte[] answer = responder.apply(cmd);
                    if (answer != null) {
                        c.write(ByteBuffer.wrap(answer));
                    }
                    end = indexOf(all, END);
                }
            }
        } catch (Exception e) {
            // a client went away; nothing to do for a fake
        }
    }

    private static int indexOf(byte[] a, byte[] b) {
        outer:
        for (int i = 0; i + b.length <= a.length; i++) {
            for (int j = 0; j < b.length; j++) {
                if (a[i + j] != b[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (UnixSocketChannel c : clients) {
            c.close();
        }
    }
}
