package org.tlsjail.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.testing.Await;
import org.tlsjail.testing.Distribution;
import org.tlsjail.testing.RealFail2BanServer;
import org.tlsjail.testing.RealPeer;

/**
 * OS4X's documented unban, {@code fail2ban-client set os4x unbanip ADDRESS}, must make tlsjail
 * serve the source again, with a real fail2ban-server and the built bin/tlsjail:
 * <ul>
 *   <li>with the shipped action (conf/fail2ban/action.d/tlsjail.conf) in the jail, which reads
 *       tlsjail's Fail2Ban log: the jail's bans and unbans reach tlsjail through its CLI;</li>
 *   <li>with the Fail2Ban bridge in banip mode: the bridge sees the address gone from the jail
 *       before the jail's bantime is up and lifts tlsjail's ban instead of putting it back.</li>
 * </ul>
 */
class Fail2BanUnbanIT {
    private static final Duration AWAIT = Duration.ofSeconds(90);

    @TempDir
    Path dir;

    @Test
    void theShippedActionCarriesFail2BansBansAndUnbansIntoTlsjail() throws Exception {
        RealPeer.require(RealFail2BanServer.installed(), "fail2ban is not installed (Debian package fail2ban); CI installs it");
        Path state = dir.resolve("state");
        Path cfg = dir.resolve("tlsjail.yaml");
        Files.writeString(cfg, "state-dir: state\nlisten: {port: 0}\njail: {maxretry: 3, bantime: 1h}\n");
        try (Daemon d = Daemon.start(dir, state, cfg);
             RealFail2BanServer f2b = new RealFail2BanServer(dir.resolve("f2b"))) {
            f2b.overrideJail(List.of(shipped("conf/fail2ban/action.d/tlsjail.conf")),
                    "logpath = " + state.resolve("fail2ban.log"),
                    "action = dummy[target=" + f2b.dummyTarget() + "]",
                    "         tlsjail[tlsjail=\"" + Distribution.launcher() + "\", tlsjail_options=\"--state-dir " + state + "\"]");
            f2b.start();

            // Fail2Ban -> tlsjail: a manual ban in the jail bans in tlsjail too
            f2b.client("set", "os4x", "banip", "127.0.0.71");
            Await.until("127.0.0.71 banned in tlsjail", AWAIT, () -> d.banned().contains("127.0.0.71"), d::banned);
            assertThat(d.greets("127.0.0.71")).isFalse();
            f2b.client("set", "os4x", "unbanip", "127.0.0.71");
            Await.until("127.0.0.71 unbanned in tlsjail", AWAIT, () -> !d.banned().contains("127.0.0.71"), d::banned);
            assertThat(d.greets("127.0.0.71")).isTrue();

            // From the log: tlsjail bans at the third failure, the jail bans from the log lines and
            // its action's `tlsjail ban` finds the source banned already (success, ban unchanged)
            for (int i = 0; i < 3; i++) {
                assertThat(d.greets("127.0.0.72", false)).isFalse();
            }
            Await.until("the jail bans 127.0.0.72 from tlsjail's log", AWAIT,
                    () -> f2b.bannedContainsAll(List.of("127.0.0.72")), () -> safe(f2b::banned));
            String before = d.bannedJson();
            assertThat(before).contains("127.0.0.72");
            Await.until("the jail's actions ran", AWAIT, () -> safe(() -> Files.readString(f2b.dummyTarget())).contains("127.0.0.72"),
                    () -> safe(() -> Files.readString(f2b.dummyTarget())));
            Await.until("the tlsjail action ran", AWAIT, () -> safe(() -> Files.readString(f2b.serverLog())).contains("Ban 127.0.0.72"),
                    () -> "");
            // OS4X's unban procedure
            f2b.client("set", "os4x", "unbanip", "127.0.0.72");
            Await.until("127.0.0.72 unbanned in tlsjail", AWAIT, () -> !d.banned().contains("127.0.0.72"), d::banned);
            assertThat(d.greets("127.0.0.72")).isTrue();
            // no action failed on the way (an idempotent ban/unban is no error)
            assertThat(Files.readString(f2b.serverLog())).doesNotContain("ERROR").doesNotContain("returned 1")
                    .doesNotContain("returned 2");
        }
    }

    @Test
    void theBridgeLiftsABanAnOperatorLiftedInTheJail() throws Exception {
        RealPeer.require(RealFail2BanServer.installed(), "fail2ban is not installed (Debian package fail2ban); CI installs it");
        try (RealFail2BanServer f2b = new RealFail2BanServer(dir.resolve("f2b"))) {
            f2b.start();
            Path state = dir.resolve("state");
            try (Daemon d = Daemon.start(dir, state, withBridge(f2b))) {
                for (int i = 0; i < 3; i++) {
                    assertThat(d.greets("127.0.0.73", false)).isFalse();
                }
                assertThat(d.banned()).contains("127.0.0.73");
                Await.until("the bridge puts 127.0.0.73 into the jail", AWAIT,
                        () -> f2b.bannedContainsAll(List.of("127.0.0.73")), () -> safe(f2b::banned));
                // an unrelated ban stays: the bridge lifts only what the operator lifted
                assertThat(d.cli("ban", "127.0.0.74").exit()).isZero();
                Await.until("127.0.0.74 in the jail", AWAIT, () -> f2b.bannedContainsAll(List.of("127.0.0.74")),
                        () -> safe(f2b::banned));

                f2b.client("set", "os4x", "unbanip", "127.0.0.73");
                Await.until("tlsjail lifts 127.0.0.73", AWAIT, () -> !d.banned().contains("127.0.0.73"), d::banned);
                assertThat(d.greets("127.0.0.73")).isTrue();
                // and it is not put back into the jail by the next reconciliations
                long reconciles = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
                Await.until("a few reconciliations", Duration.ofSeconds(10), () -> System.nanoTime() > reconciles);
                assertThat(f2b.banned()).doesNotContain("127.0.0.73").contains("127.0.0.74");
                assertThat(d.banned()).contains("127.0.0.74");
            }
        }
    }

    /** The other side: the jail's own expiry (bantime 3 s there) is no unban; tlsjail keeps its hour. */
    @Test
    void theJailsOwnExpiryIsNoOperatorUnban() throws Exception {
        RealPeer.require(RealFail2BanServer.installed(), "fail2ban is not installed (Debian package fail2ban); CI installs it");
        try (RealFail2BanServer f2b = new RealFail2BanServer(dir.resolve("f2b"))) {
            f2b.overrideJail(List.of(), "bantime = 3");
            f2b.start();
            Path state = dir.resolve("state");
            try (Daemon d = Daemon.start(dir, state, withBridge(f2b))) {
                assertThat(d.cli("ban", "127.0.0.75").exit()).isZero();
                Await.until("127.0.0.75 in the jail", AWAIT, () -> f2b.bannedContainsAll(List.of("127.0.0.75")),
                        () -> safe(f2b::banned));
                // Fail2Ban ends its 3 s ban (its log says so); the bridge puts it back, tlsjail keeps it
                Await.until("the jail's own unban", AWAIT,
                        () -> safe(() -> Files.readString(f2b.serverLog())).contains("Unban 127.0.0.75"),
                        () -> safe(() -> Files.readString(f2b.serverLog())));
                Await.until("the bridge puts it back", AWAIT, () -> f2b.bannedContainsAll(List.of("127.0.0.75")),
                        () -> safe(f2b::banned));
                assertThat(d.banned()).contains("127.0.0.75");
                assertThat(d.greets("127.0.0.75")).isFalse();
            }
        }
    }

    /** tlsjail with the Fail2Ban bridge in banip mode on {@code f2b}'s jail os4x, reconciling every second. */
    private Path withBridge(RealFail2BanServer f2b) throws Exception {
        Path cfg = dir.resolve("tlsjail.yaml");
        Files.writeString(cfg, "state-dir: state\nlisten: {port: 0}\njail: {maxretry: 3, bantime: 1h}\n"
                + "bridge:\n  fail2ban:\n    enabled: true\n    socket: " + f2b.socket() + "\n    jail: os4x\n"
                + "    mode: banip\n    reconcile-interval: 1s\n");
        return cfg;
    }

    private static Path shipped(String relative) {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isRegularFile(p.resolve(relative))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException(relative + " not found above the working directory");
        }
        return p.resolve(relative);
    }

    interface IoSupplier {
        String get() throws Exception;
    }

    private static String safe(IoSupplier s) {
        try {
            return s.get();
        } catch (Exception e) {
            return e.toString();
        }
    }

    /** tlsjail run from the built distribution, and what the test asks it. */
    static final class Daemon implements AutoCloseable {
        private final Process process;
        private final Path dir;
        private final Path state;
        private final int port;

        private Daemon(Process process, Path dir, Path state, int port) {
            this.process = process;
            this.dir = dir;
            this.state = state;
            this.port = port;
        }

        static Daemon start(Path dir, Path state, Path cfg) throws Exception {
            Path out = dir.resolve("daemon.out");
            Process p = new ProcessBuilder(Distribution.command("run", "--config", cfg.toString()))
                    .directory(dir.toFile()).redirectErrorStream(true).redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            Path portFile = state.resolve("tlsjail.port");
            try {
                Await.until("tlsjail started", Duration.ofSeconds(180), () -> {
                    if (!p.isAlive()) {
                        throw new AssertionError("tlsjail exited: " + safe(() -> Files.readString(out)));
                    }
                    return Files.exists(portFile) && !safe(() -> Files.readString(portFile)).isBlank();
                });
            } catch (RuntimeException | AssertionError e) {
                p.destroyForcibly();
                throw e;
            }
            return new Daemon(p, dir, state, Integer.parseInt(Files.readString(portFile).strip()));
        }

        Distribution.Result cli(String... args) throws Exception {
            List<String> a = new ArrayList<>(List.of(args));
            a.addAll(List.of("--state-dir", state.toString()));
            return Distribution.run(Distribution.command(a.toArray(String[]::new)), 60, dir);
        }

        String banned() {
            return safe(() -> cli("banned").stdout());
        }

        String bannedJson() throws Exception {
            return cli("banned", "--json").stdout();
        }

        boolean greets(String source) throws Exception {
            return greets(source, true);
        }

        /** An openssl handshake from {@code source}, with or without the demo client certificate. */
        boolean greets(String source, boolean withCert) throws Exception {
            Path demo = state.resolve("demo-pki");
            List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                    "-bind", source + ":0", "-CAfile", demo.resolve("ca.pem").toString(), "-tls1_2"));
            if (withCert) {
                cmd.addAll(List.of("-cert", demo.resolve("client-chain.pem").toString(),
                        "-key", demo.resolve("client-key.pem").toString(), "-ign_eof"));
            }
            Distribution.Result r = Distribution.run(cmd, 60, dir);
            return r.stdout().contains("Hello CN=tlsjail demo client");
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
