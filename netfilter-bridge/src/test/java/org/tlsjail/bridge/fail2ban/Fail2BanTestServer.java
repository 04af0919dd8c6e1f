package org.tlsjail.bridge.fail2ban;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real fail2ban-server of the test's own: config, socket, pidfile, database and log in a temp
 * dir, jail os4x with OS4X's filter (a copy in test resources) and the dummy action, so it bans
 * without touching any firewall.
 */
final class Fail2BanTestServer implements AutoCloseable {
    private final Path dir;
    private final Path conf;
    private final Path run;
    private boolean running;

    Fail2BanTestServer(Path dir) throws IOException {
        this.dir = dir;
        this.conf = Files.createDirectories(dir.resolve("conf"));
        this.run = Files.createDirectories(dir.resolve("run"));
        Files.createDirectories(conf.resolve("filter.d"));
        Files.createDirectories(conf.resolve("action.d"));
        try (InputStream in = Fail2BanTestServer.class.getResourceAsStream("/fail2ban/filter.d/os4x.conf")) {
            Files.write(conf.resolve("filter.d/os4x.conf"), in.readAllBytes());
        }
        Files.copy(Path.of("/etc/fail2ban/action.d/dummy.conf"), conf.resolve("action.d/dummy.conf"));
        Files.writeString(run.resolve("os4x.log"), "");
        Files.writeString(conf.resolve("fail2ban.conf"), String.join("\n",
                "[Definition]",
                "loglevel = INFO",
                "logtarget = " + run.resolve("fail2ban.log"),
                "syslogsocket = auto",
                "socket = " + socket(),
                "pidfile = " + run.resolve("fail2ban.pid"),
                "dbfile = " + run.resolve("fail2ban.sqlite3"),
                "dbpurgeage = 1d",
                "allowipv6 = auto",
                ""));
        Files.writeString(conf.resolve("jail.conf"), String.join("\n",
                "[os4x]",
                "enabled = true",
                "filter = os4x",
                "logpath = " + run.resolve("os4x.log"),
                "backend = polling",
                "maxretry = 3",
                "findtime = 600",
                "bantime = 3600",
                "action = dummy[target=" + run.resolve("dummy.txt") + "]",
                ""));
    }

    static boolean installed() {
        return Files.isExecutable(Path.of("/usr/bin/fail2ban-server"))
                && Files.isExecutable(Path.of("/usr/bin/fail2ban-client"))
                && Files.isReadable(Path.of("/etc/fail2ban/action.d/dummy.conf"));
    }

    Path socket() {
        return run.resolve("fail2ban.sock");
    }

    void start() throws IOException {
        client("-x", "start");
        running = true;
    }

    void stop() throws IOException {
        running = false;
        client("stop");
    }

    /** The jail's banned list as fail2ban-client prints it, e.g. {@code ['10.0.0.1', '10.0.0.2']}. */
    String banned() throws IOException {
        return client("get", "os4x", "banned").strip();
    }

    boolean bannedContains(String address) {
        try {
            return banned().contains("'" + address + "'");
        } catch (IOException e) {
            return false;
        }
    }

    String client(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("fail2ban-client", "-c", conf.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false)
                .redirectError(dir.resolve("client-stderr.txt").toFile()).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("fail2ban-client " + String.join(" ", args) + " hung");
            }
            if (p.exitValue() != 0) {
                throw new IOException("fail2ban-client " + String.join(" ", args) + " exited " + p.exitValue()
                        + ": " + out + Files.readString(dir.resolve("client-stderr.txt")));
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    @Override
    public void close() {
        if (running) {
            try {
                stop();
            } catch (IOException e) {
                System.err.println("could not stop the test's fail2ban-server: " + e.getMessage());
            }
        }
        // whatever happened above: the server this test started must not outlive it
        try {
            Path pidfile = run.resolve("fail2ban.pid");
            if (Files.exists(pidfile)) {
                long pid = Long.parseLong(Files.readString(pidfile).strip());
                ProcessHandle.of(pid).filter(h -> h.info().commandLine().orElse("").contains(socket().toString()))
                        .ifPresent(ProcessHandle::destroyForcibly);
            }
        } catch (IOException | NumberFormatException e) {
            System.err.println("could not check the test's fail2ban-server pidfile: " + e.getMessage());
        }
    }
}
