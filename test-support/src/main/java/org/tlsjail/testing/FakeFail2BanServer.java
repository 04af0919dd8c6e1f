package org.tlsjail.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import jnr.unixsocket.UnixServerSocketChannel;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;
import net.razorvine.pickle.Pickler;
import net.razorvine.pickle.Unpickler;

/**
 * A stand-in for fail2ban-server on a unix socket, for the faults a real one is hard to make
 * produce on demand. It reads requests the way Fail2Ban does (pickle + {@code <F2B_END_COMMAND>})
 * and answers whatever its responder returns (raw bytes, terminator included), or nothing at all
 * when the responder returns null (a hanging server).
 *
 * <p>The default responder ({@link Behaviour#HEALTHY}) keeps a jail {@code os4x} whose banned set
 * answers {@code get os4x banned}; {@link Behaviour#GARBAGE} answers every request with bytes that
 * are no pickle, {@link Behaviour#HANG} reads requests and never answers. Tests that need a
 * particular broken reply pass their own responder, usually wrapped in {@link #healthyExcept}.
 */
public final class FakeFail2BanServer implements AutoCloseable {
    /** Fail2Ban's request and reply terminator (its own constant, independent of the code under test). */
    public static final byte[] END = "<F2B_END_COMMAND>".getBytes(StandardCharsets.US_ASCII);

    /** The canned ways the fake can behave; see the class comment. */
    public enum Behaviour { HEALTHY, GARBAGE, HANG }

    private final Path socket;
    private final UnixServerSocketChannel server;
    private final List<UnixSocketChannel> clients = new CopyOnWriteArrayList<>();
    private final Set<String> banned = ConcurrentHashMap.newKeySet();
    private final List<List<String>> requests = new CopyOnWriteArrayList<>();
    private final List<List<String>> processed = new CopyOnWriteArrayList<>();
    private volatile Function<List<String>, byte[]> responder;

    /** A healthy fake with jail {@code os4x}, listening on {@code socket}. */
    public FakeFail2BanServer(Path socket) throws IOException {
        this(socket, null);
    }

    /** A fake answering every request with {@code responder} (null: the healthy jail). */
    public FakeFail2BanServer(Path socket, Function<List<String>, byte[]> responder) throws IOException {
        this.socket = socket;
        this.responder = responder == null ? this::jail : responder;
        server = UnixServerSocketChannel.open();
        server.socket().bind(new UnixSocketAddress(socket.toFile()));
        Thread acceptor = new Thread(this::acceptLoop, "fake-fail2ban");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Every request read, answered or not, in order. */
    public List<List<String>> requests() {
        return requests;
    }

    /** Requests the healthy jail acted on: what a real server would have counted. */
    public List<List<String>> processed() {
        return processed;
    }

    /** The healthy jail's banned addresses. */
    public Set<String> banned() {
        return banned;
    }

    /** Switches to one of the canned behaviours for every request from now on. */
    public void behave(Behaviour behaviour) {
        switch (behaviour) {
            case HANG -> responder = cmd -> null;
            case GARBAGE -> responder = cmd -> frame("\u0000\u00ff\u0013not a pickle at all".getBytes(StandardCharsets.ISO_8859_1));
            default -> responder = this::jail;
        }
    }

    /** Answers every request from now on with {@code responder} (null bytes: no answer). */
    public void respondWith(Function<List<String>, byte[]> responder) {
        this.responder = responder;
    }

    /** A well-formed reply: pickle of {@code (code, value)} plus the terminator. */
    public static byte[] reply(int code, Object value) {
        return frame(pickle(new Object[] {code, value}));
    }

    public static byte[] pickle(Object o) {
        try {
            return new Pickler(false).dumps(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code body} plus the terminator. */
    public static byte[] frame(byte[] body) {
        byte[] out = Arrays.copyOf(body, body.length + END.length);
        System.arraycopy(END, 0, out, body.length, END.length);
        return out;
    }

    /**
     * Answers ping, status and {@code get <jail> banned} like a server whose jails are empty, and
     * everything else via {@code rest}: a server that is up but misbehaves on bans.
     */
    public static Function<List<String>, byte[]> healthyExcept(Function<List<String>, byte[]> rest) {
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
                    byte[] answer = responder.apply(cmd);
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

    private byte[] jail(List<String> cmd) {
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
        Files.deleteIfExists(socket);
    }
}
