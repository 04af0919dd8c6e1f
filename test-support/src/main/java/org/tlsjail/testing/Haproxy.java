package org.tlsjail.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The real haproxy (Debian package {@code haproxy}) as a child process with a temporary
 * configuration: never the system service. Its stats socket ({@code level admin}) and the ACL
 * file its frontends reject from are in the test's own directory.
 */
public final class Haproxy implements AutoCloseable {
    public static final Path BINARY = Path.of("/usr/sbin/haproxy");

    public final Process process;
    public final Path dir;
    /** The stats socket, {@code level admin}. */
    public final Path adminSocket;
    /** The ACL file every frontend rejects from ({@code tcp-request connection reject if { src -f acl }}). */
    public final Path acl;
    /** haproxy's stdout and stderr. */
    public final Path output;

    private Haproxy(Process process, Path dir, Path adminSocket, Path acl, Path output) {
        this.process = process;
        this.dir = dir;
        this.adminSocket = adminSocket;
        this.acl = acl;
        this.output = output;
    }

    /** Fails under CI=true when haproxy is missing; skips with a message elsewhere. */
    public static void requireInstalled() {
        RealPeer.require(Files.isExecutable(BINARY), "haproxy is not installed (Debian package haproxy)");
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /**
     * Starts haproxy with one TCP frontend per {@code frontends} entry ({@code name -> port}, a
     * backend line such as {@code server s 127.0.0.1:P send-proxy}), each rejecting the sources
     * in the ACL file, and waits until every frontend accepts connections.
     */
    public static Haproxy start(Path dir, java.util.Map<Integer, String> frontends) throws Exception {
        return start(dir, frontends, java.util.List.of());
    }

    /**
     * As {@link #start(Path, java.util.Map)}, with README's partner rule before the reject: every
     * frontend accepts the sources in {@code partners} ({@code tcp-request connection accept if
     * { src -f partners.acl }}) even when a banned block in the ACL holds them.
     */
    public static Haproxy start(Path dir, java.util.Map<Integer, String> frontends, java.util.List<String> partners)
            throws Exception {
        Files.createDirectories(dir);
        Path socket = dir.resolve("admin.sock");
        Path acl = dir.resolve("banned.acl");
        Files.writeString(acl, "");
        Path partnersAcl = dir.resolve("partners.acl");
        Files.writeString(partnersAcl, partners.isEmpty() ? "" : String.join("\n", partners) + "\n");
        StringBuilder cfg = new StringBuilder();
        cfg.append("global\n  stats socket ").append(socket).append(" mode 600 level admin\n  maxconn 200\n");
        cfg.append("defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n");
        int n = 0;
        for (java.util.Map.Entry<Integer, String> e : frontends.entrySet()) {
            n++;
            cfg.append("frontend fe").append(n).append("\n  bind 127.0.0.1:").append(e.getKey()).append('\n')
                    .append(partners.isEmpty() ? "" : "  tcp-request connection accept if { src -f " + partnersAcl + " }\n")
                    .append("  tcp-request connection reject if { src -f ").append(acl).append(" }\n")
                    .append("  default_backend be").append(n).append('\n');
            cfg.append("backend be").append(n).append("\n  ").append(e.getValue()).append('\n');
        }
        Path conf = dir.resolve("haproxy.cfg");
        Files.writeString(conf, cfg);
        Path out = dir.resolve("haproxy.out");
        Process p = new ProcessBuilder(BINARY.toString(), "-db", "-f", conf.toString())
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        Haproxy h = new Haproxy(p, dir, socket, acl, out);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (int port : frontends.keySet()) {
            while (true) {
                if (!p.isAlive()) {
                    throw new AssertionError("haproxy exited with " + p.exitValue() + ":\n" + Files.readString(out)
                            + "\nconfig:\n" + cfg);
                }
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                    break;
                } catch (IOException e) {
                    if (System.nanoTime() > deadline) {
                        h.close();
                        throw new AssertionError("haproxy did not listen on " + port + ":\n" + Files.readString(out));
                    }
                    Thread.sleep(50);
                }
            }
        }
        while (!Files.exists(socket)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no stats socket " + socket);
            }
            Thread.sleep(50);
        }
        return h;
    }

    /** One runtime API command (non-interactive: HAProxy answers and closes). */
    public String command(String line) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(adminSocket));
            ch.write(ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.US_ASCII)));
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            ByteBuffer b = ByteBuffer.allocate(8192);
            while (ch.read(b) >= 0) {
                out.write(b.array(), 0, b.position());
                b.clear();
            }
            return out.toString(StandardCharsets.UTF_8);
        }
    }

    /** The ACL's current values (the second column of {@code show acl}). */
    public java.util.List<String> aclEntries() throws IOException {
        return command("show acl " + acl).lines().map(String::strip).filter(l -> l.startsWith("0x"))
                .map(l -> l.split("\\s+")[1]).toList();
    }

    /** A server's status in {@code show stat} (UP, DOWN, "no check", ...). */
    public String serverStatus(String backend, String server) throws IOException {
        String csv = command("show stat");
        String[] header = csv.lines().findFirst().orElseThrow().substring(2).split(",");
        int col = java.util.Arrays.asList(header).indexOf("status");
        for (String line : csv.lines().toList()) {
            String[] f = line.split(",", -1);
            if (f.length > col && f[0].equals(backend) && f[1].equals(server)) {
                return f[col];
            }
        }
        throw new AssertionError("no server " + backend + "/" + server + " in:\n" + csv);
    }

    /** A frontend's connections denied by {@code tcp-request connection reject} ({@code dcon} in {@code show stat}). */
    public long deniedConnections(String frontend) throws IOException {
        String csv = command("show stat");
        String[] header = csv.lines().findFirst().orElseThrow().substring(2).split(",");
        int col = java.util.Arrays.asList(header).indexOf("dcon");
        for (String line : csv.lines().toList()) {
            String[] f = line.split(",", -1);
            if (f.length > col && f[0].equals(frontend) && f[1].equals("FRONTEND")) {
                return Long.parseLong(f[col]);
            }
        }
        throw new AssertionError("no frontend " + frontend + " in:\n" + csv);
    }

    /** Stops haproxy (SIGTERM, then SIGKILL); the directory, socket path and ACL file stay. */
    public void stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Override
    public void close() throws Exception {
        stop();
    }
}
