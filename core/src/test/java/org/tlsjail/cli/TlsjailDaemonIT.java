package org.tlsjail.cli;

import org.tlsjail.testing.RealPeer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.tlsjail.cli.Dist.assertGreeted;
import static org.tlsjail.cli.Dist.sClient;
import static org.tlsjail.cli.Dist.tlsjail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Black-box tests of the built distribution: bin/tlsjail run + the CLI + openssl s_client. */
class TlsjailDaemonIT {
    @TempDir
    Path work;

    private Path config(String yaml) throws Exception {
        return Dist.writeConfig(work, yaml);
    }

    @Test
    void quickstartGreetsTheDemoClientBansTheThirdFailureAndUnbanLetsItIn() throws Exception {
        Path state = work.resolve("tlsjail-state");
        int metricsPort;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            metricsPort = free.getLocalPort();
        }
        Path cfg = config("listen: {port: 0}\nmetrics: {listen: \"127.0.0.1:" + metricsPort + "\"}\n");
        try (Dist.Daemon d = Dist.start(work, state, "--config", cfg.toString())) {
            String welcome = d.stdout();
            Path demo = state.resolve("demo-pki");
            // The printed command with the demo client certificate works as printed.
            String printed = welcome.lines().filter(l -> l.contains("openssl s_client") && l.contains("-cert"))
                    .findFirst().orElseThrow(() -> new AssertionError("no s_client command printed:\n" + welcome)).strip();
            assertThat(welcome).contains("openssl s_client -connect 127.0.0.1:" + d.port + " -CAfile " + demo.resolve("ca.pem") + " -tls1_2 </dev/null");
            assertGreeted(Dist.exec(work, null, List.of("sh", "-c", printed)));

            String source = "127.0.0.41";
            for (int i = 0; i < 3; i++) {
                Dist.Result r = sClient(work, d.port, source, demo, false, null);
                assertThat(r.out()).doesNotContain("Hello");
                assertThat(r.out()).contains("Server certificate"); // a real handshake attempt, refused for the missing cert
            }
            assertThat(Dist.awaitLogLines(state.resolve("fail2ban.log"), 3))
                    .hasSize(3)
                    .allSatisfy(l -> assertThat(l).startsWith(
                            "TLS error 167772359 during connect try from " + source + ": peer did not return a certificate"));

            // Fourth: refused before TLS, so not even with the right certificate; no new log line.
            Dist.Result refused = sClient(work, d.port, source, demo, true, null);
            assertThat(refused.out()).doesNotContain("Hello").doesNotContain("Server certificate");
            assertThat(Files.readAllLines(state.resolve("fail2ban.log"))).hasSize(3);

            Dist.Result banned = tlsjail(work, "banned", "--config", cfg.toString());
            assertThat(banned.exit()).isZero();
            assertThat(banned.out()).contains(source).contains("peer did not return a certificate");
            Dist.Result json = tlsjail(work, "banned", "--json", "--config", cfg.toString());
            assertThat(json.out()).contains("\"source\":\"" + source + "\"");
            assertThat(tlsjail(work, "status", "--config", cfg.toString()).out()).contains("active bans:     1");
            String metrics = new String(java.net.URI.create("http://127.0.0.1:" + metricsPort + "/metrics").toURL()
                    .openStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(metrics)
                    .contains("tlsjail_handshakes_total{outcome=\"failed\",reason=\"no-certificate\"} 3.0")
                    .contains("tlsjail_refused_connections_total{reason=\"banned\"} 1.0")
                    .contains("tlsjail_bans_total 1.0")
                    .contains("tlsjail_active_bans 1.0");

            // A second daemon on the same state-dir is refused and leaves the first one's files alone.
            Dist.Result second = tlsjail(work, "run", "--config", cfg.toString());
            assertThat(second.exit()).isEqualTo(1);
            assertThat(Dist.errorLine(second)).contains("already running");
            assertThat(Files.readString(state.resolve("tlsjail.port")).strip()).isEqualTo(Integer.toString(d.port));
            assertThat(tlsjail(work, "status", "--config", cfg.toString()).exit()).isZero();

            Dist.Result unban = tlsjail(work, "unban", source, "--config", cfg.toString());
            assertThat(unban.exit()).as(unban.all()).isZero();
            assertGreeted(sClient(work, d.port, source, demo, true, null));
            // unban is idempotent (a Fail2Ban action calls it); --report-absent makes "not banned" an error
            assertThat(tlsjail(work, "unban", source, "--config", cfg.toString()).exit()).isZero();
            assertThat(tlsjail(work, "unban", "--report-absent", source, "--config", cfg.toString()).exit()).isEqualTo(1);
            assertThat(tlsjail(work, "ban", "not-an-ip", "--config", cfg.toString()).exit()).isEqualTo(2);

            Dist.Result stop = tlsjail(work, "stop", "--config", cfg.toString());
            assertThat(stop.exit()).isZero();
            assertThat(d.process.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            assertThat(d.process.exitValue()).isZero();
            assertThat(d.stderr()).doesNotContain("Exception")
                    .as("the launcher opens java.net: IPv6 sources are read in place").doesNotContain("IPv6 sources are checked through a memo");
        }
        Dist.Result notRunning = tlsjail(work, "status", "--config", cfg.toString());
        assertThat(notRunning.exit()).isEqualTo(3);
        assertThat(notRunning.err()).startsWith("tlsjail: tlsjail is not running").hasLineCount(1);
    }

    @Test
    void reloadAppliesALowerMaxretryAndAnInvalidFileChangesNothing() throws Exception {
        Path state = work.resolve("state");
        Path cfg = config("state-dir: state\nlisten: {port: 0}\njail: {maxretry: 3}\n");
        try (Dist.Daemon d = Dist.start(work, state, "--config", cfg.toString())) {
            Path demo = state.resolve("demo-pki");
            Files.writeString(cfg, "state-dir: state\nlisten: {port: 0}\njail: {maxretry: 1}\n");
            Dist.Result reload = tlsjail(work, "reload", "--config", cfg.toString());
            assertThat(reload.exit()).as(reload.all()).isZero();
            assertThat(reload.out()).contains("maxretry 1");

            sClient(work, d.port, "127.0.0.42", demo, false, null);
            assertThat(tlsjail(work, "banned", "--config", cfg.toString()).out()).contains("127.0.0.42");
            assertGreeted(sClient(work, d.port, "127.0.0.43", demo, true, null)); // connections still work

            Files.writeString(cfg, "state-dir: state\nlisten: {port: 0}\njail:\n  maxretry: 1\n  findtime: soon\n");
            Dist.Result bad = tlsjail(work, "reload", "--config", cfg.toString());
            // The CLI reads the file too (to find the socket), so it reports the error itself.
            assertThat(bad.exit()).isEqualTo(2);
            assertThat(bad.err()).contains(cfg + ":5:13: jail.findtime");
            assertThat(tlsjail(work, "status", "--state-dir", state.toString()).out()).contains("maxretry 1").contains("active bans:     1");
        }
    }

    @Test
    void sighupReloadsToo() throws Exception {
        Path state = work.resolve("state");
        Path cfg = config("state-dir: state\nlisten: {port: 0}\n");
        try (Dist.Daemon d = Dist.start(work, state, "--config", cfg.toString())) {
            Files.writeString(cfg, "state-dir: state\nlisten: {port: 0}\njail: {maxretry: 2}\n");
            Dist.exec(work, null, List.of("kill", "-HUP", Long.toString(d.process.pid())));
            long deadline = System.nanoTime() + 30_000_000_000L;
            String status = "";
            while (System.nanoTime() < deadline && !status.contains("maxretry 2")) {
                Thread.sleep(200);
                status = tlsjail(work, "status", "--config", cfg.toString()).out();
            }
            assertThat(status).contains("maxretry 2");

            // An invalid file on SIGHUP: refused by the daemon, which keeps running unchanged.
            Files.writeString(cfg, "state-dir: state\nlisten: {port: 0}\njail: {maxretry: 0}\n");
            Dist.exec(work, null, List.of("kill", "-HUP", Long.toString(d.process.pid())));
            deadline = System.nanoTime() + 30_000_000_000L;
            while (System.nanoTime() < deadline && !d.stderr().contains("reload refused")) {
                Thread.sleep(100);
            }
            assertThat(d.stderr()).contains("reload refused").contains(cfg + ":3:").contains("jail.maxretry");
            assertThat(tlsjail(work, "status", "--state-dir", state.toString()).out()).contains("maxretry 2");
        }
    }

    @Test
    void killDashNineAndRestartKeepTheBanWithItsEndTime() throws Exception {
        Path state = work.resolve("state");
        Path cfg = config("state-dir: state\nlisten: {port: 0}\n");
        String until;
        try (Dist.Daemon d = Dist.start(work, state, "--config", cfg.toString())) {
            Path demo = state.resolve("demo-pki");
            for (int i = 0; i < 3; i++) {
                sClient(work, d.port, "127.0.0.44", demo, false, null);
            }
            assertThat(tlsjail(work, "ban", "127.0.0.45", "--for", "2h", "--config", cfg.toString()).exit()).isZero();
            until = tlsjail(work, "banned", "--json", "--config", cfg.toString()).out();
            assertThat(until).contains("127.0.0.44").contains("127.0.0.45");
            d.kill9();
        }
        try (Dist.Daemon d = Dist.start(work, state, "--config", cfg.toString())) {
            assertThat(tlsjail(work, "banned", "--json", "--config", cfg.toString()).out()).isEqualTo(until);
            Dist.Result refused = sClient(work, d.port, "127.0.0.44", state.resolve("demo-pki"), true, null);
            assertThat(refused.out()).doesNotContain("Hello").doesNotContain("Server certificate");
            assertGreeted(sClient(work, d.port, "127.0.0.46", state.resolve("demo-pki"), true, null));
        }
    }

    /**
     * A journal someone else wrote (a CRC is no signature): forged records that would ban a /8, or
     * for ever by a year-9999 end, a negative ban count, binary garbage. The daemon starts, restores
     * only the sound ban, says what it skipped, and the forged /8 bans nobody.
     */
    @Test
    void aHostileJournalIsSkippedAndCountedAndStartSucceeds() throws Exception {
        Path state = work.resolve("state");
        Files.createDirectories(state);
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwx------"));
        long now = System.currentTimeMillis();
        String journal = sealed("B 127.0.0.47 " + now + " " + (now + 7_200_000) + " 1 sound")
                + sealed("B 127.0.0.0/8 " + now + " " + (now + 7_200_000) + " 1 forged-wide")
                + sealed("B 127.0.0.48 " + now + " 253402300799000 1 year-9999")
                + sealed("B 127.0.0.49 " + now + " " + (now + 7_200_000) + " -5 negative-count")
                + "\u0000\u00ff garbage \u0007\n";
        Files.writeString(state.resolve("bans.journal"), journal, java.nio.charset.StandardCharsets.ISO_8859_1);
        Path cfg = config("state-dir: state\nlisten: {port: 0}\n");
        try (Dist.Daemon d = Dist.start(work, state, "--config", cfg.toString())) {
            String status = tlsjail(work, "status", "--config", cfg.toString()).out();
            assertThat(status).contains("active bans:     1").contains("journal skipped: 4 record(s) at start");
            assertThat(tlsjail(work, "banned", "--config", cfg.toString()).out()).contains("127.0.0.47")
                    .doesNotContain("127.0.0.0/8").doesNotContain("127.0.0.48");
            assertThat(d.stdout() + d.stderr()).contains("skipped 4 line(s): 1 corrupt or torn, 3 invalid");
            assertGreeted(sClient(work, d.port, "127.0.0.50", state.resolve("demo-pki"), true, null));
        }
    }

    private static String sealed(String body) {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(body.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        return body + " #" + String.format("%08x", crc.getValue()) + "\n";
    }

    @Test
    void configErrorsExitTwoWithFileLineColumnBeforeOpeningAnyPort() throws Exception {
        Path state = work.resolve("state");
        String[][] cases = {
            {"listen:\n  port: 0\n   x: [\n", ":4:5: malformed YAML: mapping values are not allowed here"},
            {"listen: {port: 0}\njail:\n  maxretyr: 3\n", ":4:3: jail.maxretyr: unknown key"},
            {"listen: {port: 0}\njail:\n  bantime: 1 fortnight\n", ":4:12: jail.bantime:"},
        };
        for (String[] c : cases) {
            Path cfg = config("state-dir: state\n" + c[0]);
            Dist.Result run = tlsjail(work, "run", "--config", cfg.toString());
            assertThat(run.exit()).as(run.all()).isEqualTo(2);
            assertThat(run.err()).startsWith("tlsjail: " + cfg).contains(c[1]).hasLineCount(1).doesNotContain("Exception");
            assertThat(state).doesNotExist();
            Dist.Result check = tlsjail(work, "config", "check", "--config", cfg.toString());
            assertThat(check.exit()).isEqualTo(2);
            assertThat(check.err()).isEqualTo(run.err());
        }
        Path good = config("listen: {port: 0}\n");
        assertThat(tlsjail(work, "config", "check", "--config", good.toString()).exit()).isZero();
        Dist.Result show = tlsjail(work, "config", "show", "--config", good.toString());
        assertThat(show.out()).contains("maxretry: 3").contains("findtime: 10m").contains("bantime: 1h");
    }

    @Test
    void commonMistakesGetOneLineMessages() throws Exception {
        Path state = work.resolve("state");
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Path cfg = config("state-dir: state\nlisten: {port: " + taken.getLocalPort() + "}\n");
            Dist.Result r = tlsjail(work, "run", "--config", cfg.toString());
            assertThat(r.exit()).isEqualTo(1);
            assertThat(Dist.errorLine(r)).contains("already in use");
        }
        Path cfg = config("listen: {port: 0}\ntls:\n  key: missing.key\n  cert: missing.pem\n  client-ca: ca.pem\n");
        Dist.Result r = tlsjail(work, "run", "--config", cfg.toString(), "--state-dir", state.toString());
        assertThat(r.exit()).as("a TLS file error is a configuration error: systemd must not restart").isEqualTo(2);
        assertThat(Dist.errorLine(r)).contains("missing.key").contains("no such file");
        Path cfg2 = config("listen: {port: 0}\nfail2ban-log: {path: /proc/tlsjail-cannot-write-here.log}\n");
        Dist.Result r2 = tlsjail(work, "run", "--config", cfg2.toString(), "--state-dir", state.toString());
        assertThat(r2.exit()).isEqualTo(1);
        assertThat(Dist.errorLine(r2)).contains("fail2ban-log.path /proc/tlsjail-cannot-write-here.log");
        Path cfg3 = config("listen: {port: 0}\nbridge:\n  fail2ban: {enabled: true, socket: " + work.resolve("no-f2b.sock") + "}\n");
        Dist.Result r3 = tlsjail(work, "run", "--config", cfg3.toString(), "--state-dir", state.toString());
        assertThat(r3.exit()).as(r3.all()).isEqualTo(1);
        assertThat(Dist.errorLine(r3)).startsWith("tlsjail: bridge: ").contains("no-f2b.sock");
    }

    @Test
    void controlSocketRefusesAnotherUser() throws Exception {
        RealPeer.require(Dist.isRoot(), "needs root to run a client as another uid");
        RealPeer.require(Files.isExecutable(Path.of("/usr/bin/setpriv")), "setpriv (util-linux) missing");
        Path state = work.resolve("state");
        Path cfg = config("state-dir: state\nlisten: {port: 0}\n");
        try (Dist.Daemon d = Dist.start(work, state, "--config", cfg.toString())) {
            List<String> asNobody = List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    Dist.LAUNCHER.toString(), "status", "--state-dir", state.toString());
            // 1. As shipped: the socket is 0600 in a 0750 directory; nobody cannot even reach it.
            Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
            Dist.Result r = Dist.exec(Path.of("/"), null, asNobody);
            assertThat(r.exit()).isNotZero();
            assertThat(r.out()).doesNotContain("running");
            // 2. Even with the file permissions opened up, the peer-credential check refuses uid 65534.
            Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(state.resolve("control.sock"), PosixFilePermissions.fromString("rwxrwxrwx"));
            Dist.Result r2 = Dist.exec(Path.of("/"), null, asNobody);
            assertThat(r2.exit()).isEqualTo(1);
            assertThat(r2.err()).contains("permission denied").hasLineCount(1);
            List<String> banAsNobody = List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    Dist.LAUNCHER.toString(), "ban", "127.0.0.1", "--state-dir", state.toString());
            assertThat(Dist.exec(Path.of("/"), null, banAsNobody).exit()).isEqualTo(1);
            assertThat(tlsjail(work, "banned", "--state-dir", state.toString()).out()).isEmpty();
            assertThat(tlsjail(work, "status", "--state-dir", state.toString()).exit()).isZero();
        }
    }
}
