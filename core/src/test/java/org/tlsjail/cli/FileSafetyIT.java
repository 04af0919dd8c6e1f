package org.tlsjail.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.tlsjail.cli.Dist.tlsjail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.files.OtherUser;
import org.tlsjail.testing.Await;
import org.tlsjail.testing.RealFail2BanServer;
import org.tlsjail.testing.RealPeer;

/**
 * The daemon (bin/tlsjail) as root against a second local user (uid 65534): links and directories
 * planted before start and swapped in while it runs; the Fail2Ban log's life across logrotate,
 * checked with the real fail2ban-server.
 */
class FileSafetyIT {
    @TempDir
    Path work;
    private Path victims;

    @BeforeEach
    void setUp() throws Exception {
        victims = OtherUser.arena(work);
    }

    private Path config(String yaml) throws Exception {
        Path f = work.resolve("tlsjail.yaml");
        Files.writeString(f, yaml);
        return f;
    }

    private Dist.Result run(Path cfg) throws Exception {
        return tlsjail(work, "run", "--config", cfg.toString());
    }

    @Test
    void linksAndDirectoriesPlantedBeforeStartStopItWithOneLineAndExit2AndTouchNothing() throws Exception {
        Path state = Files.createDirectory(work.resolve("state"));
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxrwxrwx"));
        OtherUser.Victim portVictim = OtherUser.Victim.create(victims, "port-victim");
        OtherUser.Victim journalVictim = OtherUser.Victim.create(victims, "journal-victim");
        OtherUser.Victim logVictim = OtherUser.Victim.create(victims, "log-victim");
        OtherUser.must("ln -s " + portVictim.path() + " " + state.resolve("tlsjail.port")
                + " && ln -s " + journalVictim.path() + " " + state.resolve("bans.journal")
                + " && ln -s " + logVictim.path() + " " + state.resolve("fail2ban.log")
                + " && mkdir " + state.resolve("demo-pki"));
        List<OtherUser.Victim> all = List.of(portVictim, journalVictim, logVictim);
        Path cfg = config("state-dir: state\nlisten: {port: 0}\nfail2ban-log: {path: state/fail2ban.log}\n");

        // 1. a world-writable state directory (no sticky bit)
        Dist.Result r = run(cfg);
        assertThat(r.exit()).as(r.all()).isEqualTo(2);
        assertThat(Dist.errorLine(r)).isEqualTo("tlsjail: unsafe state-dir: directory " + state + " is writable by group"
                + " or others (mode 0777) without the sticky bit; another user could replace tlsjail's files there"
                + " (chmod go-w it, or choose another directory)");
        // 2. owned by the other user
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setAttribute(state, "unix:uid", OtherUser.UID);
        r = run(cfg);
        assertThat(r.exit()).as(r.all()).isEqualTo(2);
        assertThat(Dist.errorLine(r)).contains("unsafe state-dir: directory " + state + " is owned by uid 65534");
        // 3. root's, sticky and world-writable like /tmp: accepted, but not the links planted in it
        Files.setAttribute(state, "unix:uid", 0);
        Files.setAttribute(state, "unix:mode", 01777);
        r = run(cfg);
        assertThat(r.exit()).as(r.all()).isEqualTo(2);
        assertThat(Dist.errorLine(r)).isEqualTo("tlsjail: unsafe fail2ban-log.path: " + state.resolve("fail2ban.log")
                + " is a symbolic link; tlsjail never writes through links (remove it)");
        Files.delete(state.resolve("fail2ban.log"));
        r = run(cfg);
        assertThat(r.exit()).as(r.all()).isEqualTo(2);
        assertThat(Dist.errorLine(r)).contains("unsafe ban journal: " + state.resolve("bans.journal") + " is a symbolic link");
        Files.delete(state.resolve("bans.journal"));
        r = run(cfg);
        assertThat(r.exit()).as(r.all()).isEqualTo(2);
        assertThat(Dist.errorLine(r)).contains("unsafe demo PKI: directory " + state.resolve("demo-pki") + " is owned by uid 65534");
        Files.delete(state.resolve("demo-pki"));
        for (OtherUser.Victim v : all) {
            v.assertUntouched();
        }
        // 4. only the port-file link left: tlsjail starts and replaces the link itself, never its target
        try (Dist.Daemon d = Dist.start(work, state, "--config", cfg.toString())) {
            assertThat(Files.isSymbolicLink(state.resolve("tlsjail.port"))).isFalse();
            assertThat(Files.readString(state.resolve("tlsjail.port")).strip()).isEqualTo(Integer.toString(d.port));
            assertThat(Files.getAttribute(state.resolve("fail2ban.log"), "unix:uid", LinkOption.NOFOLLOW_LINKS)).isEqualTo(0);
        }
        for (OtherUser.Victim v : all) {
            v.assertUntouched();
        }
    }

    @Test
    void aLogSwappedForALinkWhileRunningIsRefusedAndReportedOnceAndReopenSaysWhy() throws Exception {
        Path state = work.resolve("state");
        Path logDir = Files.createDirectory(work.resolve("log"));
        Files.setPosixFilePermissions(logDir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path log = logDir.resolve("fail2ban.log");
        OtherUser.Victim victim = OtherUser.Victim.create(victims, "shadow");
        Path cfg = config("state-dir: state\nlisten: {port: 0}\nfail2ban-log: {path: " + log + ", timestamp: none}\n");
        try (Dist.Daemon d = Dist.start(work, state, "--config", cfg.toString())) {
            Path demo = state.resolve("demo-pki");
            Dist.sClient(work, d.port, "127.0.0.51", demo, false, null, "-tls1_2");
            assertThat(Dist.awaitLogLines(log, 1)).hasSize(1);

            // the log's directory gets loosened (as OS4X does with its own), and the other user swaps the file
            Files.setPosixFilePermissions(logDir, PosixFilePermissions.fromString("rwxrwxrwx"));
            OtherUser.must("mv " + log + " " + logDir.resolve("old.log") + " && ln -s " + victim.path() + " " + log);
            Dist.sClient(work, d.port, "127.0.0.52", demo, false, null, "-tls1_2");
            awaitStatus(cfg, "log lines lost:  1");
            Dist.sClient(work, d.port, "127.0.0.53", demo, false, null, "-tls1_2");
            awaitStatus(cfg, "log lines lost:  2");
            victim.assertUntouched();

            Dist.Result reopen = tlsjail(work, "reopen-log", "--config", cfg.toString());
            assertThat(reopen.exit()).as(reopen.all()).isEqualTo(1);
            assertThat(Dist.errorLine(reopen)).contains("Fail2Ban log not reopened: refusing fail2ban-log.path: directory "
                    + logDir + " is writable by group or others (mode 0777) without the sticky bit");
            victim.assertUntouched();
            assertThat(Files.readAllLines(logDir.resolve("old.log"))).hasSize(1);
            assertThat((d.stdout() + d.stderr()).lines().filter(l -> l.contains("Fail2Ban log fault")))
                    .as("the fault is reported once").singleElement().asString().contains(logDir.toString());

            // fixed by the operator: reopen-log makes a fresh file of tlsjail's at once
            Files.setPosixFilePermissions(logDir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.delete(log);
            reopen = tlsjail(work, "reopen-log", "--config", cfg.toString());
            assertThat(reopen.exit()).as(reopen.all()).isZero();
            assertThat(Files.getAttribute(log, "unix:mode", LinkOption.NOFOLLOW_LINKS)).isEqualTo(0100640);
            Dist.sClient(work, d.port, "127.0.0.54", demo, false, null, "-tls1_2");
            assertThat(Dist.awaitLogLines(log, 1)).singleElement().asString().contains("from 127.0.0.54:");
        }
        victim.assertUntouched();
    }

    private void awaitStatus(Path cfg, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String last = "";
        while (System.nanoTime() < deadline) {
            last = tlsjail(work, "status", "--config", cfg.toString()).out();
            if (last.contains(text)) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("status never showed '" + text + "':\n" + last);
    }

    @Test
    void theLogExistsBeforeAnythingSlowAndReopenRecreatesItForARestartedFail2Ban() throws Exception {
        Path logDir = work.resolve("log"); // created by tlsjail (0750) since it is missing
        Path log = logDir.resolve("fail2ban.log");
        // start-up creates the log before it loads TLS material: a start that fails there leaves the file
        Path broken = config("state-dir: state\nlisten: {port: 0}\nfail2ban-log: {path: " + log + "}\n"
                + "tls: {key: missing.key, cert: missing.pem, client-ca: missing-ca.pem}\n");
        Dist.Result r = run(broken);
        assertThat(r.exit()).as(r.all()).isEqualTo(2); // TLS material is configuration: "don't restart"
        assertThat(Dist.errorLine(r)).contains("missing.key");
        assertThat(Files.getAttribute(log, "unix:mode", LinkOption.NOFOLLOW_LINKS)).isEqualTo(0100640);
        Files.delete(log);

        Path cfg = config("state-dir: state\nlisten: {port: 0}\nfail2ban-log: {path: " + log + "}\n");
        try (Dist.Daemon d = Dist.start(work, work.resolve("state"), "--config", cfg.toString())) {
            Files.move(log, logDir.resolve("fail2ban.log.1")); // logrotate's rename, nocreate
            Dist.Result reopen = tlsjail(work, "reopen-log", "--config", cfg.toString());
            assertThat(reopen.exit()).as(reopen.all()).isZero();
            assertThat(reopen.out()).contains("reopened " + log);
            // there the moment the command returns, with its mode, before any failure was logged
            assertThat(Files.getAttribute(log, "unix:mode", LinkOption.NOFOLLOW_LINKS)).isEqualTo(0100640);
            assertThat(Files.size(log)).isZero();
            // a fail2ban-server (re)started now accepts the jail (with no file it says "Have not found any log file")
            RealPeer.require(RealFail2BanServer.installed(), "fail2ban (fail2ban-server) missing");
            try (RealFail2BanServer f2b = new RealFail2BanServer(Files.createDirectory(work.resolve("f2b")), log)) {
                f2b.start();
                assertThat(f2b.client("status", "os4x")).contains("File list:").contains(log.toString());
                Dist.sClient(work, d.port, "127.0.0.61", d.stateDir.resolve("demo-pki"), false, null, "-tls1_2");
                Await.until("fail2ban counted the failure", Duration.ofSeconds(30), () -> {
                    try {
                        return f2b.client("status", "os4x").contains("Total failed:\t1");
                    } catch (IOException e) {
                        return false;
                    }
                });
                assertThat(f2b.client("status", "os4x")).contains("Total failed:\t1");
            }
        }
    }
}
