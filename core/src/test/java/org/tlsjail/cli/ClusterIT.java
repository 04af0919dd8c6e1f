package org.tlsjail.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.tlsjail.cli.Dist.sClient;
import static org.tlsjail.cli.Dist.tlsjail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.testing.RedisProcess;

/**
 * Three real nodes ({@code bin/tlsjail run}) sharing one real redis-server (requirepass, password
 * file): failures spread over the nodes add up, bans and unbans reach every node, Redis killed
 * with SIGKILL and restarted empty, a node restarted from nothing, garbage in Redis, a wrong
 * password. One test on purpose: every JVM start costs seconds on a 2-core machine.
 */
class ClusterIT {
    private static final String PASSWORD = "it-cluster-pw";

    @TempDir
    Path work;

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private Path config(int n, RedisProcess redis, String passwordFile) throws Exception {
        Path f = work.resolve("node" + n + ".yaml");
        Files.writeString(f, "state-dir: state" + n + "\nlisten: {port: 0}\njail: {maxretry: 3}\n"
                + "cluster:\n  redis: redis://127.0.0.1:" + redis.port + "\n  password-file: " + passwordFile
                + "\n  key-prefix: it\n  node-name: node-" + n + "\n");
        return f;
    }

    private Dist.Daemon start(int n, Path cfg) throws Exception {
        Dist.Daemon d = Dist.start(work, work.resolve("state" + n), "--config", cfg.toString());
        open.add(d);
        return d;
    }

    private Path demo(int n) {
        return work.resolve("state" + n).resolve("demo-pki");
    }

    /** A handshake failure from {@code source} (no client certificate). */
    private void fail(Dist.Daemon d, int n, String source) throws Exception {
        Dist.Result r = sClient(work, d.port, source, demo(n), false, null);
        assertThat(r.out()).as("a real handshake attempt").contains("Server certificate");
    }

    /** With the right certificate: refused (reset before any TLS) or greeted. */
    private boolean refused(Dist.Daemon d, int n, String source) throws Exception {
        Dist.Result r = sClient(work, d.port, source, demo(n), true, null);
        if (r.out().contains("Hello CN=tlsjail demo client")) {
            return false;
        }
        assertThat(r.out()).as("refused without TLS").doesNotContain("Server certificate");
        return true;
    }

    private void awaitRefused(Dist.Daemon d, int n, String source, boolean expected) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (refused(d, n, source) == expected) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("node " + n + ": " + source + (expected ? " not refused" : " still refused")
                + " within 30 s\n" + d.stderr());
    }

    @Test
    void threeNodesShareTheWindowAndTheBansAndSurviveARedisOutage() throws Exception {
        RedisProcess redis = RedisProcess.start(work.resolve("redis"), "--requirepass", PASSWORD);
        open.add(redis);
        Path pw = work.resolve("redis.pw");
        Files.writeString(pw, PASSWORD + "\n");
        Files.setPosixFilePermissions(pw, PosixFilePermissions.fromString("rw-------"));
        // garbage under the prefix, planted before any node starts
        long now = System.currentTimeMillis();
        redis.command(PASSWORD, "ZADD", "{it}:bans", Long.toString(now + 3_600_000), "not-an-address",
                Long.toString(now + 3_600_000), "127.0.0.99");
        redis.command(PASSWORD, "HSET", "{it}:ban-info", "127.0.0.99", now + "|" + (now + 4_000_000_000_000L) + "|1|x|absurd");
        redis.command(PASSWORD, "XADD", "{it}:events", "*", "t", "ban", "k", "127.0.0.98", "n", "bad\nname");

        Path[] cfg = new Path[4];
        Dist.Daemon[] d = new Dist.Daemon[4];
        for (int n = 1; n <= 3; n++) {
            cfg[n] = config(n, redis, "redis.pw");
            d[n] = start(n, cfg[n]);
        }
        Dist.Result status = tlsjail(work, "status", "--config", cfg[1].toString());
        assertThat(status.out()).contains("cluster:         node node-1").contains("connected")
                .doesNotContain("NOT CONNECTED").containsPattern("invalid skipped [1-9]");
        assertThat(refused(d[1], 1, "127.0.0.99")).as("an absurd ban from Redis is not taken").isFalse();

        // 1. one failure on each node: the third completes the shared window, every node refuses
        String spread = "127.0.0.51";
        fail(d[1], 1, spread);
        fail(d[2], 2, spread);
        fail(d[3], 3, spread);
        awaitRefused(d[1], 1, spread, true);
        awaitRefused(d[2], 2, spread, true);
        Dist.Result banned = tlsjail(work, "banned", "--config", cfg[1].toString());
        assertThat(banned.out()).contains(spread).contains("node node-3");

        // 2. a manual ban on node 1 is refused on node 3; an unban on node 2 lifts it everywhere
        String manual = "127.0.0.52";
        assertThat(tlsjail(work, "ban", manual, "--config", cfg[1].toString()).exit()).isZero();
        awaitRefused(d[3], 3, manual, true);
        assertThat(tlsjail(work, "unban", manual, "--config", cfg[2].toString()).exit()).isZero();
        awaitRefused(d[3], 3, manual, false);
        awaitRefused(d[1], 1, manual, false);

        // 3. Redis killed: nodes go on alone, with the same thresholds
        assertThat(d[2].stderr()).doesNotContain("counting and banning locally");
        redis.kill9();
        String local = "127.0.0.53";
        for (int i = 0; i < 3; i++) {
            fail(d[1], 1, local);
        }
        assertThat(refused(d[1], 1, local)).isTrue();
        assertThat(refused(d[3], 3, spread)).as("cluster bans kept during the outage").isTrue();
        String outageBan = "127.0.0.54";
        assertThat(tlsjail(work, "ban", outageBan, "--config", cfg[2].toString()).exit()).isZero();
        assertThat(tlsjail(work, "unban", spread, "--config", cfg[3].toString()).exit()).isZero();
        String down = tlsjail(work, "status", "--config", cfg[2].toString()).out();
        assertThat(down).contains("NOT CONNECTED");
        assertThat(d[2].stderr()).containsOnlyOnce("counting and banning locally");

        // ... and merge both ways when it is back (empty: nothing was saved)
        redis.launch();
        awaitRefused(d[1], 1, outageBan, true);
        awaitRefused(d[3], 3, outageBan, true);
        awaitRefused(d[2], 2, local, true);
        awaitRefused(d[1], 1, spread, false);
        awaitRefused(d[2], 2, spread, false);

        // 4. a node restarted from nothing (state wiped) refuses a cluster ban from its first connection
        d[2].close();
        open.remove(d[2]);
        deleteTree(work.resolve("state2"));
        d[2] = start(2, cfg[2]);
        assertThat(refused(d[2], 2, local)).isTrue();
        assertThat(refused(d[2], 2, outageBan)).isTrue();

        // 5. a wrong password is a clear start-up error
        Path wrong = work.resolve("wrong.pw");
        Files.writeString(wrong, "not-the-password\n");
        Files.setPosixFilePermissions(wrong, PosixFilePermissions.fromString("rw-------"));
        Path cfgWrong = config(4, redis, "wrong.pw");
        Dist.Result r = tlsjail(work, "run", "--config", cfgWrong.toString());
        assertThat(r.exit()).isNotZero();
        assertThat(Dist.errorLine(r)).contains("refused the credentials").contains("cluster.password-file");
    }

    private static void deleteTree(Path p) throws Exception {
        try (var s = Files.walk(p)) {
            for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(x);
            }
        }
    }
}
