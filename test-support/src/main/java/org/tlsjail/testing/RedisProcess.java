package org.tlsjail.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A private, throw-away {@code redis-server} child process on a free loopback port, without
 * persistence, in its own temp dir (never the system service). A test without redis-server
 * fails under CI=true and is skipped otherwise (see {@link RealPeer}). Also used by bench/.
 */
public final class RedisProcess implements AutoCloseable {
    private final Path dir;
    private final List<String> extra;
    public final int port;
    private Process process;

    private RedisProcess(Path dir, int port, List<String> extra) {
        this.dir = dir;
        this.port = port;
        this.extra = extra;
    }

    /** Starts one in {@code dir} with extra redis-server arguments (e.g. --requirepass PW). */
    public static RedisProcess start(Path dir, String... extraArgs) throws Exception {
        requireRedis();
        RedisProcess r = new RedisProcess(dir, freePort(), List.of(extraArgs));
        r.launch();
        return r;
    }

    public static void requireRedis() {
        RealPeer.require(Files.isExecutable(Path.of("/usr/bin/redis-server"))
                || Files.isExecutable(Path.of("/usr/local/bin/redis-server")),
                "redis-server is not installed (Debian package redis-server)");
    }

    public String uri() {
        return "redis://127.0.0.1:" + port;
    }

    /** (Re)starts the server on the same port; empty, as nothing is persisted. */
    public void launch() throws Exception {
        List<String> cmd = new ArrayList<>(List.of("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", dir.toString(), "--protected-mode", "yes"));
        cmd.addAll(extra);
        Files.createDirectories(dir);
        process = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("redis.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("redis-server exited: " + Files.readString(dir.resolve("redis.log")));
            }
            if (answers()) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("redis-server did not answer within 30 s");
    }

    /** SIGKILL: no goodbye to the clients, nothing saved. */
    public void kill9() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** Sends one command in RESP (inline) and returns the raw reply; for setting up garbage and ACLs. */
    public String command(String password, String... words) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            if (password != null) {
                out.write(resp("AUTH", password));
            }
            out.write(resp(words));
            out.flush();
            s.shutdownOutput();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** Several commands on one connection (e.g. AUTH user pw, then a command); the raw replies. */
    @SafeVarargs
    public final String commands(List<String>... commands) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            for (List<String> c : commands) {
                out.write(resp(c.toArray(String[]::new)));
            }
            out.flush();
            s.shutdownOutput();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static byte[] resp(String... words) {
        StringBuilder sb = new StringBuilder("*").append(words.length).append("\r\n");
        for (String w : words) {
            sb.append('$').append(w.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(w).append("\r\n");
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private boolean answers() {
        try {
            String r = command(null, "PING");
            return r.startsWith("+PONG") || r.startsWith("-NOAUTH");
        } catch (IOException e) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
