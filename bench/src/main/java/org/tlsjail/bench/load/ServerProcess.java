package org.tlsjail.bench.load;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A server under test running as a child process; its CPU time (all threads, user + system) is
 * read from /proc so the clients' own work is not counted.
 */
public final class ServerProcess implements AutoCloseable {
    private static final long NANOS_PER_TICK = 1_000_000_000L / clockTicks();

    private final String name;
    private final Process process;
    private final int port;
    private final BufferedReader out;

    private ServerProcess(String name, Process process, int port, BufferedReader out) {
        this.name = name;
        this.process = process;
        this.port = port;
        this.out = out;
    }

    /** A {@link ServerMain} of the given kind in a fresh JVM. */
    public static ServerProcess java(String kind, BenchPki pki, String... jvmArgs) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Dlogback.configurationFile=bench-logback.xml");
        cmd.add("--add-opens=java.base/java.net=ALL-UNNAMED"); // as the launcher runs the daemon
        cmd.addAll(List.of(jvmArgs));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), ServerMain.class.getName(), kind,
                pki.dir().toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment().putIfAbsent("MALLOC_ARENA_MAX", "2"); // as the launcher sets for the daemon
        Process p = pb.start();
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = r.readLine()) != null) {
            if (line.startsWith("PORT ")) {
                return new ServerProcess(kind, p, Integer.parseInt(line.substring(5).trim()), r);
            }
        }
        p.destroyForcibly();
        throw new IOException("server " + kind + " exited before listening");
    }

    /** {@code openssl s_server} on a free port, client certificate required, with the bench keys. */
    public static ServerProcess opensslServer(BenchPki pki) throws IOException, InterruptedException {
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        Process p = new ProcessBuilder("openssl", "s_server", "-accept", "127.0.0.1:" + port, "-cert",
                pki.serverPem().toString(), "-key", pki.serverKey().toString(), "-CAfile", pki.caPem().toString(),
                "-Verify", "1", "-rev", "-quiet")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            try (java.net.Socket s = new java.net.Socket()) {
                s.connect(new java.net.InetSocketAddress("127.0.0.1", port), 200);
                return new ServerProcess("openssl s_server", p, port, null);
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        p.destroyForcibly();
        throw new IOException("openssl s_server did not start listening on " + port);
    }

    public String name() {
        return name;
    }

    public int port() {
        return port;
    }

    public long pid() {
        return process.pid();
    }

    /**
     * A {@link ServerMain}'s accept thread so far: {@code {bytes allocated, connections accepted}}.
     */
    public synchronized long[] acceptThreadStats() throws IOException {
        var in = process.getOutputStream();
        in.write("STATS\n".getBytes(StandardCharsets.US_ASCII));
        in.flush();
        String line;
        while ((line = out.readLine()) != null) {
            if (line.startsWith("STATS ")) {
                String[] f = line.substring(6).trim().split(" ");
                return new long[] {Long.parseLong(f[0]), Long.parseLong(f[1])};
            }
        }
        throw new IOException("server " + name + " ended before answering STATS");
    }

    /** User + system CPU time of the whole process so far. */
    public long cpuNanos() throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"));
        // the command name (field 2) may hold spaces: count fields after its closing parenthesis
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long utime = Long.parseLong(f[11]);
        long stime = Long.parseLong(f[12]);
        return (utime + stime) * NANOS_PER_TICK;
    }

    @Override
    public void close() throws InterruptedException {
        try {
            process.getOutputStream().close();
        } catch (IOException e) {
            // already gone
        }
        if (!process.waitFor(3, TimeUnit.SECONDS)) {
            process.destroy();
            if (!process.waitFor(3, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }

    private static long clockTicks() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            p.waitFor();
            return Long.parseLong(out);
        } catch (IOException | InterruptedException | NumberFormatException e) {
            return 100;
        }
    }
}
