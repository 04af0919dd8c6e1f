package org.tlsjail.faults;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import jnr.unixsocket.UnixServerSocketChannel;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;
import net.razorvine.pickle.Pickler;
import net.razorvine.pickle.Unpickler;

/**
 * A stand-in for fail2ban-server on a unix socket, for the faults a real one is hard to make
 * produce on demand: it speaks Fail2Ban's framing (pickle + {@code <F2B_END_COMMAND>}) and, while
 * {@link Behaviour#HEALTHY}, keeps a jail {@code os4x} whose banned set answers {@code get os4x
 * banned}; {@link Behaviour#GARBAGE} answers every request with bytes that are no pickle, and
 * {@link Behaviour#HANG} reads requests and never answers.
 */
final class FakeFail2BanServer implements AutoCloseable {
    private static final byte[] END = "<F2B_END_COMMAND>".getBytes(StandardCharsets.US_ASCII);

    enum Behaviour { HEALTHY, GARBAGE, HANG }

    private final Path socket;
    private final UnixServerSocketChannel server;
    private final Thread acceptor;
    private final List<UnixSocketChannel> clients = new CopyOnWriteArrayList<>();
    final Set<String> banned = ConcurrentHashMap.newKeySet();
    /** Every request read, answered or not. */
    final List<List<String>> requests = new CopyOnWriteArrayList<>();
    /** Requests the fake acted on (healthy): what a real server would have counted. */
    final List<List<String>> processed = new CopyOnWriteArrayList<>();
    volatile Behaviour behaviour = Behaviour.HEALTHY;

    FakeFail2BanServer(Path socket) throws IOException {
        this.socket = socket;
        server = UnixServerSocketChannel.open();
        server.socket().bind(new UnixSocketAddress(socket.toFile()));
        acceptor = new Thread(this::acceptLoop, "fake-fail2ban");
        acceptor.setDaemon(true);
        acceptor.start();
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
        ByteBuffer in = ByteBuffer.allocate(8192);
        try {
            while (true) {
                in.clear();
                int n = c.read(in);
                if (n < 0) {
                    return;
                }
                buf.write(in.array(), 0, n);
                byte[] all = buf.toByteArray();
                int end;
                while ((end = indexOf(all, END)) >= 0) {
                    byte[] req = Arrays.copyOfRange(all, 0, end);
                    all = Arrays.copyOfRange(all, end + END.length, all.length);
                    buf.reset();
                    buf.write(all);
                    if (new String(req, StandardCharsets.US_ASCII).equals("<F2B_CLOSE_COMMAND>")) {
                        return;
                    }
                    List<String> cmd = new ArrayList<>();
                    for (Object o : (List<Object>) new Unpickler().loads(req)) {
                        cmd.add(String.valueOf(o));
                    }
                    requests.add(cmd);
                    byte[] answer = answer(cmd);
                    if (answer != null) {
                        c.write(ByteBuffer.wrap(answer));
                    }
                }
            }
        } catch (Exception e) {
            // the client went away or the fake was closed
        } finally {
            try {
                c.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }

    private byte[] answer(List<String> cmd) throws IOException {
        switch (behaviour) {
            case HANG:
                return null;
            case GARBAGE:
                return frame("\u0000\u00ff\u0013not a pickle at all".getBytes(StandardCharsets.ISO_8859_1));
            default:
                break;
        }
        processed.add(cmd);
        if (cmd.equals(List.of("ping"))) {
            return reply(0, "pong");
        }
        if (cmd.size() == 2 && cmd.get(0).equals("status") && cmd.get(1).equals("os4x")) {
            return reply(0, new ArrayList<>());
        }
        if (cmd.size() == 3 && cmd.get(0).equals("get") && cmd.get(1).equals("os4x") && cmd.get(2).equals("banned")) {
            return reply(0, new ArrayList<>(banned));
        }
        if (cmd.size() >= 4 && cmd.get(0).equals("set") && cmd.get(1).equals("os4x")) {
            List<String> addresses = cmd.subList(3, cmd.size());
            if (cmd.get(2).equals("banip")) {
                banned.addAll(addresses);
                return reply(0, addresses.size());
            }
            if (cmd.get(2).equals("attempt")) {
                return reply(0, 1);
            }
            if (cmd.get(2).equals("unbanip")) {
                banned.removeAll(addresses);
                return reply(0, addresses.size());
            }
        }
        return reply(1, "unsupported by the fake: " + cmd);
    }

    private static byte[] reply(int code, Object value) throws IOException {
        return frame(new Pickler(false).dumps(new Object[] {code, value}));
    }

    private static byte[] frame(byte[] body) {
        byte[] out = Arrays.copyOf(body, body.length + END.length);
        System.arraycopy(END, 0, out, body.length, END.length);
        return out;
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

    /** Stops listening and drops every connection; the socket file is removed. */
    @Override
    public void close() throws IOException {
        server.close();
        for (UnixSocketChannel c : clients) {
            c.close();
        }
        java.nio.file.Files.deleteIfExists(socket);
    }
}
