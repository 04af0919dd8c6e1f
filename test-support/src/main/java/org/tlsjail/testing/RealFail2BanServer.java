package org.tlsjail.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real fail2ban-server of the test's own: config, socket, pidfile, database and log in a temp
 * dir; jail os4x with the filter this repository ships and the dummy action (no firewall is
 * touched); loopback sources are not ignored, since the test's attackers are 127.x addresses.
 * Callers guard with {@code RealPeer.require(RealFail2BanServer.installed(), ...)}.
 */
public final class RealFail2BanServer implements AutoCloseable {
    private final Path dir;
    private final Path conf;
    private final Path run;

    public RealFail2BanServer(Path dir) throws IOException {
        this(dir, null);
    }

    /** A server whose jail os4x watches {@code logpath} (null: an empty log of its own). */
    public RealFail2BanServer(Path dir, Path logpath) throws IOException {
        this.dir = dir;
        this.conf = Files.createDirectories(dir.resolve("conf"));
        this.run = Files.createDirectories(dir.resolve("run"));
        Files.createDirectories(conf.resolve("filter.d"));
        Files.createDirectories(conf.resolve("action.d"));
        Files.copy(shippedFilter(), conf.resolve("filter.d/os4x.conf"));
        Files.copy(Path.of("/etc/fail2ban/action.d/dummy.conf"), conf.resolve("action.d/dummy.conf"));
        if (logpath == null) {
            logpath = Files.writeString(run.resolve("os4x.log"), "");
        }
        Files.writeString(conf.resolve("fail2ban.conf"), String.join("\n",
                "[Definition]",
                "loglevel = INFO",
                "logtarget = " + run.resolve("fail2ban.log"),
                "syslogsocket = auto",
                "socket = " + socket(),
                "pidfile = " + pidfile(),
                "dbfile = " + run.resolve("fail2ban.sqlite3"),
                "dbpurgeage = 1d",
                "allowipv6 = auto",
                ""));
        Files.writeString(conf.resolve("jail.conf"), String.join("\n",
                "[os4x]",
                "enabled = true",
                "filter = os4x",
                "logpath = " + logpath,
                "backend = polling",
                "ignoreself = false",
                "ignoreip =",
                "maxretry = 3",
                "findtime = 600",
                "bantime = 3600",
                "action = dummy[target=" + run.resolve("dummy.txt") + "]",
                ""));
    }

    /**
     * Overrides settings of jail os4x (written to jail.local, which Fail2Ban reads after
     * jail.conf) and adds action files to action.d; before {@link #start()}.
     */
    public void overrideJail(List<Path> actionFiles, String... lines) throws IOException {
        for (Path a : actionFiles) {
            Files.copy(a, conf.resolve("action.d").resolve(a.getFileName()));
        }
        Files.writeString(conf.resolve("jail.local"), "[os4x]\n" + String.join("\n", lines) + "\n");
    }

    /** The dummy action's file: one line per ban the jail's firewall stand-in holds. */
    public Path dummyTarget() {
        return run.resolve("dummy.txt");
    }

    /** fail2ban-server's own log (action errors land here). */
    public Path serverLog() {
        return run.resolve("fail2ban.log");
    }

    public static boolean installed() {
        return Files.isExecutable(Path.of("/usr/bin/fail2ban-server"))
                && Files.isExecutable(Path.of("/usr/bin/fail2ban-client"))
                && Files.isReadable(Path.of("/etc/fail2ban/action.d/dummy.conf"));
    }

    /** conf/fail2ban/filter.d/os4x.conf of this repository (OS4X's filter, verbatim). */
    public static Path shippedFilter() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isRegularFile(p.resolve("conf/fail2ban/filter.d/os4x.conf"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("conf/fail2ban/filter.d/os4x.conf not found above the working directory");
        }
        return p.resolve("conf/fail2ban/filter.d/os4x.conf");
    }

    public Path socket() {
        return run.resolve("fail2ban.sock");
    }

    private Path pidfile() {
        return run.resolve("fail2ban.pid");
    }

    /** Starts the server (-x: a stale socket of a killed server is removed first). */
    public void start() throws IOException {
        client("-x", "start");
    }

    /** A clean stop (fail2ban-client stop); {@link #start()} brings the same jail and database back. */
    public void stop() throws IOException {
        client("stop");
    }

    /** SIGKILL, as an OOM killer or a crash would: no cleanup, the socket file stays behind. */
    public void kill() throws Exception {
        ProcessHandle h = process();
        if (h == null) {
            throw new IllegalStateException("fail2ban-server is not running");
        }
        h.destroyForcibly();
        h.onExit().get(10, TimeUnit.SECONDS);
    }

    private ProcessHandle process() throws IOException {
        if (!Files.exists(pidfile())) {
            return null;
        }
        long pid;
        try {
            pid = Long.parseLong(Files.readString(pidfile()).strip());
        } catch (NumberFormatException e) {
            return null;
        }
        // only the server this test started: its command line names our socket
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                .filter(h -> h.info().commandLine().orElse("").contains(socket().toString())).orElse(null);
    }

    /** The jail's banned list as fail2ban-client prints it, e.g. {@code ['127.7.1.2', '127.7.1.3']}. */
    public String banned() throws IOException {
        return client("get", "os4x", "banned").strip();
    }

    public boolean bannedContainsAll(List<String> addresses) {
        try {
            String b = banned();
            return addresses.stream().allMatch(a -> b.contains("'" + a + "'"));
        } catch (IOException e) {
            return false;
        }
    }

    public boolean bannedContains(String address) {
        return bannedContainsAll(List.of(address));
    }

    /** Runs fail2ban-client against this server; its stdout, or an IOException naming the exit and stderr. */
    public String client(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("fail2ban-client", "-c", conf.toString()));
        cmd.addAll(List.of(args));
        Path err = dir.resolve("client-stderr.txt");
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("fail2ban-client " + String.join(" ", args) + " hung");
            }
            if (p.exitValue() != 0) {
                throw new IOException("fail2ban-client " + String.join(" ", args) + " exited " + p.exitValue()
                        + ": " + out + Files.readString(err));
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    /** Stops the server; whatever happens, the process this test started does not outlive it. */
    @Override
    public void close() {
        try {
            ProcessHandle h = process();
            if (h != null) {
                try {
                    client("stop");
                } catch (IOException e) {
                    System.err.println("could not stop the test's fail2ban-server: " + e.getMessage());
                }
                h.destroyForcibly();
            }
        } catch (IOException e) {
            System.err.println("could not check the test's fail2ban-server: " + e.getMessage());
        }
    }
}
