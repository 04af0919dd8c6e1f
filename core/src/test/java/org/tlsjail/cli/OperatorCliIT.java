package org.tlsjail.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.tlsjail.cli.Dist.assertGreeted;
import static org.tlsjail.cli.Dist.sClient;
import static org.tlsjail.cli.Dist.tlsjail;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import jnr.unixsocket.UnixDatagramChannel;
import jnr.unixsocket.UnixSocketAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.testing.Await;

/**
 * What an operator meets in the first week, through the built bin/tlsjail (issue 14): the
 * command line's exit codes and help, --state-dir over the file, bans of blocks and lists,
 * idempotent ban/unban, IPv4-only 0.0.0.0, systemd readiness and the restored-bans banner.
 */
class OperatorCliIT {
    @TempDir
    Path work;

    private Path config(String yaml) throws Exception {
        return Dist.writeConfig(work, yaml);
    }

    @Test
    void usageErrorsExitTwoAndEveryCommandHasHelp() throws Exception {
        for (String[] bad : new String[][] {{"status", "--bogus"}, {"ban"}, {"frobnicate"}, {"ban", "1.2.3.4", "--for"},
            {"status", "--config"}, {"banned", "--json", "--json"}, {"unban", "--state-dir", "x", "--state-dir", "y", "1.2.3.4"}}) {
            Dist.Result r = tlsjail(work, bad);
            assertThat(r.exit()).as("%s: %s", List.of(bad), r.all()).isEqualTo(2);
            assertThat(r.err()).doesNotContain("Exception");
        }
        for (String cmd : List.of("run", "status", "banned", "ban", "unban", "reload", "reopen-log", "stop", "config")) {
            Dist.Result r = tlsjail(work, cmd, "--help");
            assertThat(r.exit()).as("%s --help: %s", cmd, r.all()).isZero();
            assertThat(r.out()).startsWith("Usage: tlsjail " + cmd);
        }
        Dist.Result check = tlsjail(work, "config", "check", "--help");
        assertThat(check.exit()).isZero();
        assertThat(check.out()).startsWith("Usage: tlsjail config check");

        Dist.Result bare = tlsjail(work);
        assertThat(bare.exit()).isEqualTo(2);
        assertThat(bare.all().split("Usage: tlsjail", -1)).as(bare.all()).hasSize(2); // usage printed once
        assertThat(bare.err()).contains("missing command");
    }

    /**
     * The Debian layout: the distribution under usr/share/tlsjail and usr/bin/tlsjail a relative
     * symlink to its launcher, run from an unrelated directory. The copy's jars are at other
     * paths than the class-data archive was dumped with: the JVM must run without it, silently.
     */
    @Test
    void theLauncherFindsItsJarsThroughSymlinksFromAnyDirectoryAndAMovedCopyRunsQuietly() throws Exception {
        Path usr = work.resolve("usr");
        Path share = Files.createDirectories(usr.resolve("share"));
        Dist.exec(work, null, List.of("cp", "-a", Dist.LAUNCHER.getParent().getParent().toString(),
                share.resolve("tlsjail").toString()));
        Files.createDirectories(usr.resolve("bin"));
        Files.createSymbolicLink(usr.resolve("bin/tlsjail"), Path.of("../share/tlsjail/bin/tlsjail"));
        Path elsewhere = Files.createDirectories(work.resolve("elsewhere"));
        Dist.Result version = Dist.exec(elsewhere, null, List.of(usr.resolve("bin/tlsjail").toString(), "--version"));
        assertThat(version.exit()).as(version.all()).isZero();
        assertThat(version.out()).startsWith("tlsjail ");
        Dist.Result status = Dist.exec(elsewhere, null, List.of("../usr/bin/tlsjail", "status", "--state-dir", "nowhere"));
        assertThat(status.exit()).isEqualTo(3);
        assertThat(status.err()).as("no JVM warning about the archive").isEqualTo(
                "tlsjail: tlsjail is not running (no control socket at " + elsewhere.resolve("nowhere/control.sock") + ")\n");
        assertThat(status.out()).isEmpty();
    }

    @Test
    void stateDirOnTheCommandLineWinsOverTheFile() throws Exception {
        // the shipped conf/tlsjail.yaml sets state-dir too: the flag must simply win
        Path cfg = config("state-dir: from-the-file\nlisten: {port: 0}\n");
        Path state = work.resolve("from-the-flag");
        Dist.Result check = tlsjail(work, "config", "show", "--config", cfg.toString(), "--state-dir", state.toString());
        assertThat(check.exit()).as(check.all()).isZero();
        assertThat(check.out()).contains(state.toString());
        try (Dist.Daemon d = Dist.start(work, state, "--config", cfg.toString(), "--state-dir", state.toString())) {
            Dist.Result status = tlsjail(work, "status", "--config", cfg.toString(), "--state-dir", state.toString());
            assertThat(status.exit()).as(status.all()).isZero();
            assertThat(status.out()).contains("state-dir:       " + state);
            assertThat(work.resolve("from-the-file")).doesNotExist();
            // a wrong value in the file is still reported, flag or not
            Files.writeString(cfg, "state-dir: [not, a, path]\nlisten: {port: 0}\n");
            Dist.Result bad = tlsjail(work, "config", "check", "--config", cfg.toString(), "--state-dir", state.toString());
            assertThat(bad.exit()).isEqualTo(2);
            assertThat(bad.err()).contains(cfg + ":1:").contains("state-dir");
        }
    }

    @Test
    void banTakesBlocksAndListsAndBanUnbanAreIdempotent() throws Exception {
        Path state = work.resolve("state");
        Path cfg = config("state-dir: state\nlisten: {port: 0}\n");
        try (Dist.Daemon d = Dist.start(work, state, "--config", cfg.toString())) {
            Path demo = state.resolve("demo-pki");
            // a /30 and two single addresses in one call
            Dist.Result ban = tlsjail(work, "ban", "127.0.9.0/30", "127.0.8.1", "127.0.8.2", "--for", "1 hour 30 min",
                    "--config", cfg.toString());
            assertThat(ban.exit()).as(ban.all()).isZero();
            assertThat(ban.out()).contains("127.0.9.0/30: banned 4 source(s)").contains("banned 127.0.8.1")
                    .contains("banned 127.0.8.2");
            String listed = tlsjail(work, "banned", "--config", cfg.toString()).out();
            for (String a : List.of("127.0.9.0", "127.0.9.1", "127.0.9.2", "127.0.9.3", "127.0.8.1", "127.0.8.2")) {
                assertThat(listed).contains(a);
            }
            // refused before TLS from inside the block, served from just outside it
            assertThat(sClient(work, d.port, "127.0.9.3", demo, true, null).out()).doesNotContain("Hello");
            assertGreeted(sClient(work, d.port, "127.0.9.4", demo, true, null));

            // banning a banned source again: success, and its ban is left as it was
            Dist.Result again = tlsjail(work, "ban", "127.0.8.1", "--config", cfg.toString());
            assertThat(again.exit()).as(again.all()).isZero();
            assertThat(again.out()).contains("already banned: 127.0.8.1");
            assertThat(tlsjail(work, "banned", "--config", cfg.toString()).out()).isEqualTo(listed);

            // a typo anywhere bans nothing
            Dist.Result typo = tlsjail(work, "ban", "127.0.7.1", "127.0.7.x", "--config", cfg.toString());
            assertThat(typo.exit()).isEqualTo(2);
            assertThat(tlsjail(work, "banned", "--config", cfg.toString()).out()).doesNotContain("127.0.7.1");
            // a block too wide for the engine's per-source bans is refused with the reason
            Dist.Result wide = tlsjail(work, "ban", "10.0.0.0/8", "--config", cfg.toString());
            assertThat(wide.exit()).isEqualTo(1);
            assertThat(Dist.errorLine(wide)).contains("16777216 sources").contains("at most 4096");

            // unban of a block lifts every ban inside it; of several addresses, each
            Dist.Result unban = tlsjail(work, "unban", "127.0.9.0/30", "127.0.8.1", "--config", cfg.toString());
            assertThat(unban.exit()).as(unban.all()).isZero();
            assertGreeted(sClient(work, d.port, "127.0.9.2", demo, true, null));
            // unbanning what is not banned: success (a Fail2Ban action must not fail) ...
            Dist.Result absent = tlsjail(work, "unban", "127.0.8.1", "127.0.8.2", "--config", cfg.toString());
            assertThat(absent.exit()).as(absent.all()).isZero();
            assertThat(absent.out()).contains("127.0.8.1 was not banned").contains("unbanned 127.0.8.2");
            // ... unless the operator asks to hear about it
            Dist.Result report = tlsjail(work, "unban", "--report-absent", "127.0.8.1", "--config", cfg.toString());
            assertThat(report.exit()).isEqualTo(1);
            assertThat(Dist.errorLine(report)).contains("not banned: 127.0.8.1");
            assertThat(tlsjail(work, "status", "--config", cfg.toString()).out()).contains("active bans:     0");
        }
    }

    @Test
    void ipv4AnyAddressDoesNotAcceptIpv6() throws Exception {
        Path state = work.resolve("state");
        Path cfg = config("state-dir: state\nlisten: {address: 0.0.0.0, port: 0}\n");
        try (Dist.Daemon d = Dist.start(work, state, "--config", cfg.toString())) {
            assertGreeted(sClient(work, d.port, "127.0.0.1", state.resolve("demo-pki"), true, null));
            assertThat(connects(InetAddress.getByName("::1"), d.port)).as("[::1] with listen.address 0.0.0.0").isFalse();
        }
        if (!ipv6Loopback()) {
            return; // the dual-stack half needs ::1 on this host
        }
        Files.writeString(cfg, "state-dir: state\nlisten: {address: \"::\", port: 0}\n");
        try (Dist.Daemon d = Dist.start(work, state, "--config", cfg.toString())) {
            assertThat(connects(InetAddress.getByName("::1"), d.port)).as("[::1] with listen.address ::").isTrue();
            assertThat(connects(InetAddress.getByName("127.0.0.1"), d.port)).as("127.0.0.1 with ::").isTrue();
        }
    }

    private static boolean connects(InetAddress a, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(a, port), 5_000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean ipv6Loopback() {
        try (java.net.ServerSocket s = new java.net.ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName("::1"), 0));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void tellsSystemdItIsReadyOnceThePortIsOpenAndTheLogExists() throws Exception {
        Path state = work.resolve("state");
        Path cfg = config("state-dir: state\nlisten: {port: 0}\n");
        Path notify = work.resolve("notify.sock");
        try (UnixDatagramChannel systemd = UnixDatagramChannel.open()) {
            systemd.bind(new UnixSocketAddress(notify.toFile()));
            try (Dist.Daemon d = Dist.start(work, state, Map.of("NOTIFY_SOCKET", notify.toString()),
                    "--config", cfg.toString())) {
                ByteBuffer buf = ByteBuffer.allocate(4096);
                systemd.configureBlocking(false);
                Await.until("READY=1 on NOTIFY_SOCKET", Duration.ofSeconds(120), () -> {
                    try {
                        return systemd.receive(buf) != null;
                    } catch (IOException e) {
                        // jnr reports EAGAIN (nothing there yet) as an exception, not as null
                        if (String.valueOf(e.getMessage()).contains("temporarily unavailable")) {
                            return false;
                        }
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                buf.flip();
                String msg = StandardCharsets.UTF_8.decode(buf).toString();
                assertThat(msg).contains("READY=1\n").contains("MAINPID=" + d.process.pid())
                        .contains("STATUS=listening on 127.0.0.1:" + d.port);
                // what "ready" promises: the log Fail2Ban watches exists, the port answers
                assertThat(state.resolve("fail2ban.log")).exists();
                assertGreeted(sClient(work, d.port, "127.0.0.1", state.resolve("demo-pki"), true, null));
            }
        }
        String unit = Files.readString(Dist.LAUNCHER.getParent().getParent().resolve("conf/systemd/tlsjail.service"));
        assertThat(unit).contains("\nType=notify\n");
    }

    @Test
    void theBannerNamesRestoredBansAndHowToLiftThemTheWayTheCliWasRun() throws Exception {
        Path state = work.resolve("state");
        Path cfg = config("state-dir: state\nlisten: {port: 0}\n");
        try (Dist.Daemon d = Dist.start(work, state, "--config", cfg.toString())) {
            assertThat(d.stdout()).doesNotContain("Restored");
            assertThat(tlsjail(work, "ban", "127.0.0.61", "--config", cfg.toString()).exit()).isZero();
        }
        // as from a checkout: ./tlsjail sets TLSJAIL_COMMAND to how it was invoked
        try (Dist.Daemon d = Dist.start(work, state, Map.of("TLSJAIL_COMMAND", "./tlsjail"), "--config", cfg.toString())) {
            Await.until("the banner", Duration.ofSeconds(30), () -> read(d).contains("Lift all:"), () -> read(d));
            String banner = d.stdout();
            assertThat(banner).contains("Restored 1 ban(s) from " + state.resolve("bans.journal"))
                    .contains("  127.0.0.61 until ")
                    .contains("Lift one:      ./tlsjail unban 127.0.0.61 --config " + cfg)
                    .contains("Lift all:      ./tlsjail unban --all --config " + cfg)
                    .contains("See the bans:  ./tlsjail banned");
            // the command printed works as printed
            String lift = banner.lines().filter(l -> l.startsWith("Lift one:")).findFirst().orElseThrow()
                    .substring("Lift one:".length()).strip().replace("./tlsjail", Dist.LAUNCHER.toString());
            assertThat(Dist.exec(work, null, List.of("sh", "-c", lift)).exit()).isZero();
            assertGreeted(sClient(work, d.port, "127.0.0.61", state.resolve("demo-pki"), true, null));
        }
        // run by its path (not found on PATH as `tlsjail`): the banner says that path
        try (Dist.Daemon d = Dist.start(work, state, "--config", cfg.toString())) {
            Await.until("the banner", Duration.ofSeconds(30), () -> read(d).contains("Stop:"), () -> read(d));
            assertThat(d.stdout()).contains("See the bans:  " + Dist.LAUNCHER + " banned").doesNotContain("Restored");
        }
    }

    private static String read(Dist.Daemon d) {
        try {
            return d.stdout();
        } catch (IOException e) {
            return e.toString();
        }
    }
}
