package org.tlsjail.bench.load;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A private Fail2Ban server (the Debian package's {@code fail2ban-server}) watching one log with
 * OS4X's filter and jail settings (maxretry 3, findtime 600, bantime 3600), {@code backend =
 * polling} and {@code action = dummy}, which only appends {@code +<ip>} to a file we watch. Its
 * socket, pid file, database and own log all live in a temp dir.
 */
public final class Fail2BanJail implements AutoCloseable {
    private final Path dir;
    private final Path bans;

    private Fail2BanJail(Path dir) {
        this.dir = dir;
        this.bans = dir.resolve("bans.dummy");
    }

    public static boolean installed() {
        return Files.isExecutable(Path.of("/usr/bin/fail2ban-server")) && Files.isExecutable(Path.of("/usr/bin/fail2ban-client"));
    }

    /** Writes the configuration and starts the server on {@code log} (which must exist). */
    public static Fail2BanJail start(Path dir, Path log) throws IOException, InterruptedException {
        Files.createDirectories(dir.resolve("filter.d"));
        Files.createDirectories(dir.resolve("action.d"));
        Fail2BanJail j = new Fail2BanJail(dir);
        Files.writeString(dir.resolve("fail2ban.conf"), "[Definition]\nloglevel = INFO\nlogtarget = " + dir.resolve("fail2ban.log")
                + "\nsyslogsocket = auto\nsocket = " + dir.resolve("fail2ban.sock") + "\npidfile = " + dir.resolve("fail2ban.pid")
                + "\ndbfile = " + dir.resolve("fail2ban.sqlite3") + "\ndbpurgeage = 1d\n");
        Files.writeString(dir.resolve("jail.conf"), "[DEFAULT]\nbackend = polling\n\n[os4x]\nenabled = true\nport = 6619\n"
                + "filter = os4x\nlogpath = " + log + "\nmaxretry = 3\nfindtime = 600\nbantime = 3600\n"
                + "action = dummy[target=" + j.bans + "]\n");
        Path repoFilter = Path.of("conf/fail2ban/filter.d/os4x.conf");
        if (Files.exists(repoFilter)) {
            Files.copy(repoFilter, dir.resolve("filter.d/os4x.conf"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } else {
            try (InputStream in = Fail2BanJail.class.getResourceAsStream("os4x-filter.conf")) {
                Files.write(dir.resolve("filter.d/os4x.conf"), in.readAllBytes());
            }
        }
        Files.copy(Path.of("/etc/fail2ban/action.d/dummy.conf"), dir.resolve("action.d/dummy.conf"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        j.client("-x", "start");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (j.client("status", "os4x").contains("Currently failed")) {
                return j;
            }
            Thread.sleep(200);
        }
        j.close();
        throw new IOException("fail2ban-server did not bring up jail os4x; see " + dir.resolve("fail2ban.log"));
    }

    /** True once the dummy action has recorded a ban of {@code ip}. */
    public boolean banned(String ip) throws IOException {
        if (!Files.exists(bans)) {
            return false;
        }
        return Files.readAllLines(bans, StandardCharsets.UTF_8).contains("+" + ip);
    }

    @Override
    public void close() throws IOException, InterruptedException {
        client("stop");
    }

    private String client(String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of("fail2ban-client", "-c", dir.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(30, TimeUnit.SECONDS);
        return out;
    }
}
