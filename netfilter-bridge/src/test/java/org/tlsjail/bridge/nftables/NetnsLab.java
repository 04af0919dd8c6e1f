package org.tlsjail.bridge.nftables;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Two network namespaces of the test's own, a server and a client one joined by a veth pair,
 * with private addresses that exist only inside them: server 10.231.N.1, clients 10.231.N.2 and
 * 10.231.N.3, and IPv6 server fd00:231:N::1, clients fd00:231:N::2 and fd00:231:N::3 (one /64).
 * Runs {@link NetnsAgent} in each and an nft wrapper that acts in the server namespace.
 * {@link #close()} removes everything, whatever state the test left.
 */
final class NetnsLab implements AutoCloseable {
    final String server;
    final String client;
    final String serverAddress;
    final String clientA;
    final String clientB;
    final String serverAddress6;
    final String clientA6;
    final String clientB6;
    private final Path dir;
    private Process serverAgent;
    private Process serverAgent6;
    private Process clientAgent;
    private PrintWriter clientIn;
    private BufferedReader clientOut;
    private final AtomicInteger accepts = new AtomicInteger();
    private final BlockingQueue<String> acceptedFrom = new LinkedBlockingQueue<>();
    int port;
    /** The IPv6 server agent's port (another port than {@link #port}: one agent per address). */
    int port6;

    NetnsLab(Path dir) {
        long pid = ProcessHandle.current().pid();
        this.server = "tjsrv" + pid;
        this.client = "tjcli" + pid;
        int n = (int) (pid % 200) + 20;
        this.serverAddress = "10.231." + n + ".1";
        this.clientA = "10.231." + n + ".2";
        this.clientB = "10.231." + n + ".3";
        this.serverAddress6 = "fd00:231:" + Integer.toHexString(n) + "::1";
        this.clientA6 = "fd00:231:" + Integer.toHexString(n) + "::2";
        this.clientB6 = "fd00:231:" + Integer.toHexString(n) + "::3";
        this.dir = dir;
    }

    /** Null if namespaces can be made here, otherwise why not (the test is skipped with it). */
    static String unavailableReason() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "needs root to create network namespaces (CI runs as root)";
        }
        if (!Files.isExecutable(Path.of("/usr/sbin/ip")) && !Files.isExecutable(Path.of("/sbin/ip"))) {
            return "no ip program (Debian package iproute2)";
        }
        return null;
    }

    void create() throws IOException {
        removeQuietly();
        // should the JVM die before @AfterAll, the namespaces still go
        Runtime.getRuntime().addShutdownHook(new Thread(this::removeQuietly, "netns-cleanup"));
        sh("ip", "netns", "add", server);
        sh("ip", "netns", "add", client);
        sh("ip", "link", "add", "tjs0", "netns", server, "type", "veth", "peer", "name", "tjc0", "netns", client);
        sh("ip", "-n", server, "addr", "add", serverAddress + "/24", "dev", "tjs0");
        sh("ip", "-n", client, "addr", "add", clientA + "/24", "dev", "tjc0");
        sh("ip", "-n", client, "addr", "add", clientB + "/24", "dev", "tjc0");
        // nodad: usable at once, no duplicate address detection to wait for
        sh("ip", "-n", server, "addr", "add", serverAddress6 + "/64", "dev", "tjs0", "nodad");
        sh("ip", "-n", client, "addr", "add", clientA6 + "/64", "dev", "tjc0", "nodad");
        sh("ip", "-n", client, "addr", "add", clientB6 + "/64", "dev", "tjc0", "nodad");
        for (String[] l : new String[][] {{server, "tjs0"}, {server, "lo"}, {client, "tjc0"}, {client, "lo"}}) {
            sh("ip", "-n", l[0], "link", "set", l[1], "up");
        }
    }

    /** An executable that runs nft inside the server namespace, optionally through {@code prefix}. */
    Path nftWrapper(String name, String prefix) throws IOException {
        Path w = dir.resolve(name);
        Files.writeString(w, "#!/bin/sh\nexec ip netns exec " + server + " " + prefix + " nft \"$@\"\n");
        Files.setPosixFilePermissions(w, PosixFilePermissions.fromString("rwx------"));
        return w;
    }

    /** Output of nft run in the server namespace. */
    String nft(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", server, "nft"));
        cmd.addAll(List.of(args));
        return run(cmd, false);
    }

    void startAgents() throws IOException {
        serverAgent = java(server, "serve", serverAddress);
        port = readAccepts(serverAgent);
        serverAgent6 = java(server, "serve", serverAddress6);
        port6 = readAccepts(serverAgent6);

        clientAgent = java(client, "client");
        clientIn = new PrintWriter(new OutputStreamWriter(clientAgent.getOutputStream(), StandardCharsets.UTF_8), true);
        clientOut = new BufferedReader(new InputStreamReader(clientAgent.getInputStream(), StandardCharsets.UTF_8));
        String ready = readLine(clientOut, "client agent");
        if (!ready.equals("READY")) {
            throw new IOException("client agent said: " + ready);
        }
    }

    /** Reads the server agent's port, then counts its accepts on a thread of its own. */
    private int readAccepts(Process serverAgent) throws IOException {
        BufferedReader sout = new BufferedReader(new InputStreamReader(serverAgent.getInputStream(), StandardCharsets.UTF_8));
        String first = readLine(sout, "server agent");
        if (!first.startsWith("PORT ")) {
            throw new IOException("server agent said: " + first);
        }
        int listening = Integer.parseInt(first.substring(5).trim());
        Thread t = new Thread(() -> {
            try {
                String l;
                while ((l = sout.readLine()) != null) {
                    if (l.startsWith("ACCEPT ")) {
                        accepts.incrementAndGet();
                        acceptedFrom.add(l.substring(7));
                    }
                }
            } catch (IOException ignored) {
                // agent ended
            }
        }, "netns-accepts");
        t.setDaemon(true);
        t.start();
        return listening;
    }

    /** Connects from {@code source} (a client-namespace address) to the server; CONNECTED, TIMEOUT, REFUSED. */
    String connect(String source, int timeoutMs) throws IOException {
        boolean v6 = source.contains(":");
        clientIn.println("connect " + source + " " + (v6 ? serverAddress6 + " " + port6 : serverAddress + " " + port)
                + " " + timeoutMs);
        return readLine(clientOut, "client agent");
    }

    /** Accepts the server agent has seen; waits briefly so an accept in flight is counted. */
    int accepts() {
        return accepts.get();
    }

    /** Waits for the next accept the server reports and returns the peer address, or null. */
    String nextAcceptFrom(long timeoutMs) throws InterruptedException {
        return acceptedFrom.poll(timeoutMs, TimeUnit.MILLISECONDS);
    }

    private Process java(String ns, String... args) throws IOException {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp;
        try {
            cp = Path.of(NetnsAgent.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new IOException(e);
        }
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, javaBin, "-Xshare:auto", "-XX:TieredStopAtLevel=1",
                "-cp", cp, NetnsAgent.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    private static String readLine(BufferedReader r, String who) throws IOException {
        String l = r.readLine();
        if (l == null) {
            throw new IOException(who + " ended");
        }
        return l;
    }

    private static void sh(String... cmd) throws IOException {
        run(List.of(cmd), false);
    }

    static String run(List<String> cmd, boolean quiet) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " hung");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        if (p.exitValue() != 0 && !quiet) {
            throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out);
        }
        return out;
    }

    private void removeQuietly() {
        for (String ns : List.of(server, client)) {
            try {
                run(List.of("ip", "netns", "del", ns), true);
            } catch (IOException ignored) {
                // not there
            }
        }
    }

    @Override
    public void close() {
        for (Process p : new Process[] {clientAgent, serverAgent, serverAgent6}) {
            if (p != null) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                try {
                    p.waitFor(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        // deleting the namespaces also deletes the veth pair and every nft table inside them
        removeQuietly();
    }
}
