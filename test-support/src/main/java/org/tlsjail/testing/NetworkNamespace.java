package org.tlsjail.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A network namespace of its own (a name unique to this process and call, so parallel runs never
 * meet) with IPv6 /64s routed to its loopback: a process run in it ({@link #command}) may bind any
 * address of those /64s (AnyIP) and so attack as many addresses of one /64 as it likes, without
 * touching the host's network. {@link #close} deletes the namespace. Needs root and {@code ip}
 * (Debian package iproute2): see {@link #unavailable}.
 */
public final class NetworkNamespace implements AutoCloseable {
    private final String ip;
    private final String name;
    private final List<String> nets;

    private NetworkNamespace(String ip, String name, List<String> nets) {
        this.ip = ip;
        this.name = name;
        this.nets = List.copyOf(nets);
    }

    /** Why a namespace cannot be made here (not root, no {@code ip}), or null if it can. */
    public static String unavailable() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "not root: a network namespace is needed for a routed IPv6 /64";
        }
        return ipCommand() == null ? "no ip command (Debian package iproute2)" : null;
    }

    /**
     * Creates the namespace with its loopback up and {@code prefixes} /64s of 2001:db8::/32
     * (documentation addresses) routed to it; {@code namePrefix} starts its name (at most 6
     * characters: interface-style names stay short).
     */
    public static NetworkNamespace withRoutedSlash64s(String namePrefix, int prefixes) throws IOException, InterruptedException {
        String ip = ipCommand();
        if (ip == null || unavailable() != null) {
            throw new IOException(unavailable());
        }
        String name = namePrefix + ProcessHandle.current().pid() + "x" + ThreadLocalRandom.current().nextInt(1 << 20);
        int r = ThreadLocalRandom.current().nextInt(1, 0xfff0);
        List<String> nets = new ArrayList<>();
        for (int k = 0; k < prefixes; k++) {
            nets.add("2001:db8:" + Integer.toHexString(r) + ":" + Integer.toHexString(k + 1));
        }
        run(ip, "netns", "add", name);
        NetworkNamespace ns = new NetworkNamespace(ip, name, nets);
        try {
            run(ip, "-n", name, "link", "set", "lo", "up");
            for (String net : nets) {
                run(ip, "-n", name, "-6", "route", "add", "local", net + "::/64", "dev", "lo");
            }
            // binding to any address of a routed /64 (AnyIP) needs this, in this namespace only
            run(ip, "netns", "exec", name, "sysctl", "-qw", "net.ipv6.ip_nonlocal_bind=1");
        } catch (IOException | InterruptedException | RuntimeException e) {
            ns.close();
            throw e;
        }
        return ns;
    }

    /** The routed /64s, each as its first 64 bits (e.g. {@code 2001:db8:1a2b:1}). */
    public List<String> slash64s() {
        return nets;
    }

    /** {@code command} run inside the namespace (prefixed with {@code ip netns exec <name>}). */
    public List<String> command(List<String> command) {
        List<String> c = new ArrayList<>(List.of(ip, "netns", "exec", name));
        c.addAll(command);
        return c;
    }

    /**
     * The i-th attacking address of a /64 ({@code net}: its first 64 bits), spread over the
     * interface identifier as an attacker picks them, far apart.
     */
    public static InetAddress address(String net, int i) {
        try {
            return InetAddress.getByName(net + ":" + Integer.toHexString(0x100 + i) + ":"
                    + Integer.toHexString(i * 7919 & 0xffff) + "::" + Integer.toHexString(i + 2));
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException("not a /64 prefix: " + net, e);
        }
    }

    /** Deletes the namespace (and with it its routes and anything bound in it). */
    @Override
    public void close() throws IOException, InterruptedException {
        run(ip, "netns", "del", name);
    }

    private static String ipCommand() {
        for (String p : List.of("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip")) {
            if (Files.isExecutable(Path.of(p))) {
                return p;
            }
        }
        return null;
    }

    private static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " did not finish in 30 s");
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
    }
}
