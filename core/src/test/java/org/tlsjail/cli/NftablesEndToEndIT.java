package org.tlsjail.cli;

import org.tlsjail.testing.RealPeer;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole chain with the kernel in it: bin/tlsjail runs inside a server network namespace with
 * the nftables bridge; openssl s_client runs in a client namespace joined by a veth pair (private
 * addresses that exist only inside the two namespaces). After three failed handshakes the client
 * address's new connections are dropped by nftables and never reach tlsjail's accept, another
 * client address still completes mutual TLS, and after {@code tlsjail unban} the first connects
 * again.
 */
class NftablesEndToEndIT {
    private static final String SERVER = "10.231.77.1";
    private static final String ATTACKER = "10.231.77.2";
    private static final String PARTNER = "10.231.77.3";
    private static final int PORT = 16619;

    @TempDir
    Path work;
    private final String tag = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xfffff));
    private final String srv = "tj-srv-" + tag;
    private final String cli = "tj-cli-" + tag;
    private Process daemon;

    @BeforeEach
    void namespaces() throws Exception {
        RealPeer.require(Dist.isRoot(), "needs root to create network namespaces (CI runs as root)");
        boolean made = sh("ip", "netns", "add", srv) == 0;
        RealPeer.require(made, "this machine cannot create network namespaces");
        must("ip", "netns", "add", cli);
        must("ip", "link", "add", "tjs" + tag, "type", "veth", "peer", "name", "tjc" + tag);
        must("ip", "link", "set", "tjs" + tag, "netns", srv);
        must("ip", "link", "set", "tjc" + tag, "netns", cli);
        must("ip", "-n", srv, "addr", "add", SERVER + "/24", "dev", "tjs" + tag);
        must("ip", "-n", cli, "addr", "add", ATTACKER + "/24", "dev", "tjc" + tag);
        must("ip", "-n", cli, "addr", "add", PARTNER + "/24", "dev", "tjc" + tag);
        for (String[] dev : new String[][] {{srv, "tjs" + tag}, {cli, "tjc" + tag}, {srv, "lo"}, {cli, "lo"}}) {
            must("ip", "-n", dev[0], "link", "set", dev[1], "up");
        }
    }

    @AfterEach
    void cleanUp() throws Exception {
        if (daemon != null && daemon.isAlive()) {
            daemon.destroy();
            if (!daemon.waitFor(30, TimeUnit.SECONDS)) {
                daemon.destroyForcibly();
            }
        }
        sh("ip", "netns", "del", srv); // takes the veth pair and the nft table with it
        sh("ip", "netns", "del", cli);
    }

    @Test
    void threeFailedHandshakesAndTheKernelDropsTheSource() throws Exception {
        Path state = work.resolve("state");
        Path cfg = work.resolve("tlsjail.yaml");
        Files.writeString(cfg, "state-dir: " + state + "\n"
                + "listen: {address: " + SERVER + ", port: " + PORT + "}\n"
                + "bridge:\n  nftables: {enabled: true, port: " + PORT + ", action: drop}\n");
        Path out = work.resolve("daemon.out");
        daemon = new ProcessBuilder("ip", "netns", "exec", srv, Dist.LAUNCHER.toString(), "run", "--config", cfg.toString())
                .redirectOutput(out.toFile()).redirectErrorStream(true).redirectInput(new File("/dev/null")).start();
        awaitFile(state.resolve("tlsjail.port"), out);
        Path pki = state.resolve("demo-pki");

        for (int i = 0; i < 3; i++) {
            Dist.Result r = sClient(ATTACKER, pki, false, 20);
            assertThat(r.out()).as("attempt %d reaches tlsjail", i + 1).contains("CONNECTED");
        }
        long acceptedAfterBan = awaitAccepted(cfg, 3);
        assertThat(status(cfg)).contains("active bans:     1");

        // the kernel now drops the attacker's SYNs: the connect times out and tlsjail never sees it
        Dist.Result blocked = awaitBlocked(ATTACKER, pki);
        assertThat(blocked.out()).doesNotContain("CONNECTED");
        assertThat(accepted(cfg)).as("dropped connections never reach accept").isEqualTo(acceptedAfterBan);
        String table = run("ip", "netns", "exec", srv, "nft", "list", "table", "inet", "tlsjail").out();
        assertThat(table).contains(ATTACKER);

        // another address of the same client host still gets in, with mutual TLS
        Dist.Result partner = sClient(PARTNER, pki, true, 20);
        Dist.assertGreeted(partner);

        assertThat(Dist.tlsjail(work, "unban", ATTACKER, "--config", cfg.toString()).exit()).isZero();
        Dist.Result again = null;
        for (int i = 0; i < 20 && (again == null || !again.out().contains("CONNECTED")); i++) {
            again = sClient(ATTACKER, pki, true, 3);
        }
        Dist.assertGreeted(again);
        System.out.printf("nftables e2e: %d accepted before the ban, dropped attempt timed out, unban restored access%n",
                acceptedAfterBan);
    }

    @Test
    void aReloadThatMovesOnlyListenPortKeepsGuardingThePortStillListenedOn() throws Exception {
        Path state = work.resolve("state");
        Path cfg = work.resolve("tlsjail.yaml");
        String bridge = "bridge:\n  nftables: {enabled: true, action: drop}\n"; // port follows listen.port
        Files.writeString(cfg, "state-dir: " + state + "\nlisten: {address: " + SERVER + ", port: " + PORT + "}\n" + bridge);
        Path out = work.resolve("daemon.out");
        daemon = new ProcessBuilder("ip", "netns", "exec", srv, Dist.LAUNCHER.toString(), "run", "--config", cfg.toString())
                .redirectOutput(out.toFile()).redirectErrorStream(true).redirectInput(new File("/dev/null")).start();
        awaitFile(state.resolve("tlsjail.port"), out);
        for (int i = 0; i < 100 && !nftTable().contains("tcp dport " + PORT + " "); i++) {
            Thread.sleep(100); // the bridge creates its table on its own thread
        }
        assertThat(nftTable()).contains("tcp dport " + PORT + " ");

        // the listener cannot move before a restart: the kernel's bans must stay on the port it is bound to
        Files.writeString(cfg, "state-dir: " + state + "\nlisten: {address: " + SERVER + ", port: " + (PORT + 1) + "}\n"
                + bridge);
        Dist.Result reload = Dist.tlsjail(work, "reload", "--config", cfg.toString());
        assertThat(reload.exit()).as(reload.out() + reload.err()).isZero();
        assertThat(reload.out() + reload.err()).contains("listen take effect after a restart");
        assertThat(nftTable()).contains("tcp dport " + PORT + " ").doesNotContain("tcp dport " + (PORT + 1));
        for (int i = 0; i < 3; i++) {
            sClient(ATTACKER, state.resolve("demo-pki"), false, 20);
        }
        assertThat(awaitBlocked(ATTACKER, state.resolve("demo-pki")).out()).doesNotContain("CONNECTED");
    }

    private String nftTable() throws Exception {
        return run("ip", "netns", "exec", srv, "nft", "list", "table", "inet", "tlsjail").out();
    }

    private Dist.Result awaitBlocked(String source, Path pki) throws Exception {
        // the bridge applies the ban on its own thread: allow it a few tries
        Dist.Result r = null;
        for (int i = 0; i < 10; i++) {
            r = sClient(source, pki, false, 3);
            if (r.exit() == 124) {
                return r;
            }
        }
        throw new AssertionError("the source was never dropped by nftables:\n" + r.out() + r.err());
    }

    private Dist.Result sClient(String source, Path pki, boolean withCert, int timeoutSeconds) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("timeout", String.valueOf(timeoutSeconds), "ip", "netns", "exec", cli,
                "openssl", "s_client", "-connect", SERVER + ":" + PORT, "-bind", source + ":0",
                "-CAfile", pki.resolve("ca.pem").toString()));
        if (withCert) {
            cmd.addAll(List.of("-cert", pki.resolve("client-chain.pem").toString(),
                    "-key", pki.resolve("client-key.pem").toString(), "-ign_eof"));
        }
        return Dist.exec(work, null, cmd);
    }

    private String status(Path cfg) throws Exception {
        return Dist.tlsjail(work, "status", "--config", cfg.toString()).out();
    }

    private long accepted(Path cfg) throws Exception {
        Matcher m = Pattern.compile("connections:\\s+(\\d+) accepted").matcher(status(cfg));
        assertThat(m.find()).isTrue();
        return Long.parseLong(m.group(1));
    }

    private long awaitAccepted(Path cfg, long n) throws Exception {
        for (int i = 0; i < 100; i++) {
            long a = accepted(cfg);
            if (a >= n && status(cfg).contains("active bans:     1")) {
                return a;
            }
            Thread.sleep(100);
        }
        return accepted(cfg);
    }

    private static void awaitFile(Path f, Path log) throws Exception {
        for (int i = 0; i < 1800 && !Files.exists(f); i++) {
            Thread.sleep(100);
        }
        assertThat(f).as("tlsjail started:\n%s", Files.exists(log) ? Files.readString(log) : "").exists();
    }

    private Dist.Result run(String... cmd) throws Exception {
        return Dist.exec(work, null, List.of(cmd));
    }

    private int sh(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
    }

    private void must(String... cmd) throws Exception {
        assertThat(sh(cmd)).as(String.join(" ", cmd)).isZero();
    }
}
