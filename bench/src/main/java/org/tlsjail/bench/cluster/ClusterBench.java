package org.tlsjail.bench.cluster;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.BanListener;
import org.tlsjail.banengine.BanRecord;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.banengine.SourceKey;
import org.tlsjail.bench.load.BenchPki;
import org.tlsjail.bench.load.ConnectFlood;
import org.tlsjail.bench.load.LoopbackSources;
import org.tlsjail.bench.load.ServerProcess;
import org.tlsjail.bench.report.Machine;
import org.tlsjail.cluster.ClusterNode;
import org.tlsjail.cluster.ClusterSettings;
import org.tlsjail.testing.RedisProcess;

/**
 * Cluster mode against a private redis-server on loopback:
 * <ol>
 * <li>propagation latency: three nodes in this JVM (engine + cluster client each, as in the daemon);
 *     from the call that decides a ban on one node (a manual ban, or the failure that completes the
 *     shared window) to the ban in force in the other two nodes' engines (what accept consults);</li>
 * <li>failures/s one node pushes through the shared window;</li>
 * <li>refusal rate of a cluster node vs a single node: two tlsjail listeners in their own JVMs,
 *     the same connect flood from banned sources, in turn (A B A B).</li>
 * </ol>
 * Writes its section between markers into the report (added or replaced).
 *
 * <p>Usage: {@code ClusterBench [--smoke] --report <file.md> --work <dir>}
 */
public final class ClusterBench {
    private static final JailConfig JAIL = JailConfig.builder().maxRetry(3).findTime(Duration.ofMinutes(10))
            .banTime(Duration.ofHours(1)).maxBans(1_000_000).build();
    static final String BEGIN = "<!-- cluster-bench:begin -->";
    static final String END = "<!-- cluster-bench:end -->";

    private final boolean smoke;
    private final Path work;
    private final List<String> rows = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    private ClusterBench(boolean smoke, Path work) {
        this.smoke = smoke;
        this.work = work;
    }

    public static void main(String[] args) throws Exception {
        boolean smoke = false;
        Path report = Path.of("bench/report.md");
        Path work = Path.of("bench/target/bench-work");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--smoke" -> smoke = true;
                case "--report" -> report = Path.of(args[++i]);
                case "--work" -> work = Path.of(args[++i]);
                default -> {
                    System.err.println("usage: ClusterBench [--smoke] --report <file.md> --work <dir>");
                    System.exit(2);
                }
            }
        }
        Files.createDirectories(work);
        ClusterBench b = new ClusterBench(smoke, work.toAbsolutePath());
        String section = b.run();
        String old = Files.exists(report) ? Files.readString(report) : "# tlsjail benchmark report\n";
        int i = old.indexOf(BEGIN);
        int j = old.indexOf(END);
        String updated = i >= 0 && j > i ? old.substring(0, i) + section + old.substring(j + END.length())
                : old + (old.endsWith("\n") ? "\n" : "\n\n") + section;
        Files.createDirectories(report.toAbsolutePath().getParent());
        Files.writeString(report, updated);
        System.err.println("[cluster-bench] section written to " + report);
        System.exit(0); // the in-process nodes' client threads are daemons, but be sure
    }

    private String run() throws Exception {
        Instant start = Instant.now();
        int bans = smoke ? 200 : 2000;
        try (RedisProcess redis = RedisProcess.start(work.resolve("redis-" + ProcessHandle.current().pid()))) {
            log("propagation over " + bans + " bans");
            propagation(redis, bans);
            log("failures/s one node pushes");
            throughput(redis, smoke ? 2 : 10);
            log("refusal rate, cluster node vs single node");
            refusal(redis, smoke ? 0.5 : 4, smoke ? 1 : 2);
        }
        StringBuilder sb = new StringBuilder(BEGIN).append('\n');
        sb.append("## Cluster mode (Redis)\n\n");
        sb.append(String.format(Locale.ROOT, "Written by `bench/run.sh%s` (cluster part) at %s in %d s, on %d CPUs, redis-server %s"
                        + " on loopback (no persistence). Load average at end: %s.%n%n",
                smoke ? " --smoke" : "", Instant.now(), Duration.between(start, Instant.now()).toSeconds(),
                Runtime.getRuntime().availableProcessors(), redisVersion(), Machine.loadAverage()));
        sb.append("| What | Measured | Target | Met |\n|---|---|---|---|\n");
        rows.forEach(r -> sb.append(r).append('\n'));
        sb.append('\n');
        notes.forEach(n -> sb.append(n).append("\n\n"));
        return sb.append(END).toString();
    }

    // ------------------------------------------------------------------ 1. propagation

    /** Records when each ban reaches an engine (the moment the ban table answers true at accept). */
    private static final class Arrivals implements BanListener {
        final Map<SourceKey, Long> at = new ConcurrentHashMap<>();
        volatile CountDownLatch waiting;
        volatile SourceKey expected;

        @Override
        public void onBan(BanRecord ban) {
            at.putIfAbsent(ban.key(), System.nanoTime());
            CountDownLatch l = waiting;
            if (l != null && ban.key().equals(expected)) {
                l.countDown();
            }
        }

        @Override
        public void onUnban(BanRecord ban, UnbanCause cause) {
        }
    }

    private record Node(BanEngine engine, ClusterNode cluster, Arrivals arrivals) {
    }

    private Node node(RedisProcess redis, String prefix, String name) throws Exception {
        BanEngine e = new BanEngine(JAIL, InstantSource.system());
        Arrivals a = new Arrivals();
        e.addListener(a);
        ClusterNode c = ClusterNode.start(new ClusterSettings(redis.uri(), null, null, null, prefix, Duration.ofSeconds(1),
                name, 100_000), e, InstantSource.system(), ms -> { });
        return new Node(e, c, a);
    }

    private void propagation(RedisProcess redis, int bans) throws Exception {
        Node[] n = {node(redis, "prop", "n1"), node(redis, "prop", "n2"), node(redis, "prop", "n3")};
        try {
            // warm-up: JIT and connections, not counted
            measure(n, 100, 0, true);
            measure(n, 100, 0, false);
            long[] manual = measure(n, bans / 2, 1, true);
            long[] window = measure(n, bans - bans / 2, 2, false);
            long[] all = concat(manual, window);
            row("Propagation, decision on one node to refusal-ready on another, p50 (" + all.length + " arrivals of "
                    + bans + " bans, 3 nodes)", ms(pct(all, 0.50)), "<= 10 ms", pct(all, 0.50) <= 10_000_000L);
            row("Propagation p99", ms(pct(all, 0.99)), "<= 100 ms", pct(all, 0.99) <= 100_000_000L);
            row("Propagation max", ms(all[all.length - 1]), "", null);
            row("Propagation p50 / p99, manual bans (`tlsjail ban` path)", ms(pct(manual, 0.5)) + " / " + ms(pct(manual, 0.99)), "", null);
            row("Propagation p50 / p99, bans by the shared window (third failure on the third node)",
                    ms(pct(window, 0.5)) + " / " + ms(pct(window, 0.99)), "", null);
            notes.add("Propagation: three nodes (each a BanEngine plus its ClusterNode, exactly as the daemon wires them) "
                    + "in one JVM, so one clock times both ends; daemons in separate JVMs add nothing on this path but "
                    + "scheduling. One ban at a time: a manual ban on one node (rotating over the three), or one failure "
                    + "on each node with the third completing the shared window; measured from the deciding call to "
                    + "the moment each other node's engine holds the ban (its ban table is what accept consults). "
                    + "Each ban gives two arrivals.");
        } finally {
            for (Node x : n) {
                x.cluster().close();
            }
        }
    }

    /** Latencies (ns, sorted) of {@code count} bans; kind 1 manual, 2 window. */
    private long[] measure(Node[] n, int count, int batch, boolean manual) throws Exception {
        long[] lat = new long[count * 2];
        int k = 0;
        for (int i = 0; i < count; i++) {
            InetAddress src = InetAddress.getByAddress(new byte[] {10, (byte) ((manual ? 16 : 32) + batch),
                    (byte) (i >> 8), (byte) i});
            SourceKey key = SourceKey.parse(src.getHostAddress());
            Node decider = n[i % 3];
            Node[] others = {n[(i + 1) % 3], n[(i + 2) % 3]};
            CountDownLatch latch = new CountDownLatch(2);
            for (Node o : others) {
                o.arrivals().expected = key;
                o.arrivals().waiting = latch;
            }
            long t0;
            if (manual) {
                t0 = System.nanoTime();
                decider.engine().ban(src, null, "bench");
            } else {
                long s0 = others[0].cluster().status().failuresSent();
                others[0].engine().recordFailure(src);
                awaitSent(others[0], s0);
                long s1 = others[1].cluster().status().failuresSent();
                others[1].engine().recordFailure(src);
                awaitSent(others[1], s1);
                t0 = System.nanoTime();
                decider.engine().recordFailure(src);
            }
            if (!latch.await(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("ban of " + src + " did not reach the other nodes within 10 s");
            }
            for (Node o : others) {
                lat[k++] = o.arrivals().at.get(key) - t0;
            }
        }
        Arrays.sort(lat);
        return lat;
    }

    /** Waits until {@code node}'s failure reached the shared window (so the order of the three holds). */
    private static void awaitSent(Node node, long before) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (node.cluster().status().failuresSent() == before) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("a failure did not reach Redis within 10 s");
            }
            Thread.onSpinWait();
        }
    }

    // ------------------------------------------------------------------ 2. throughput

    private void throughput(RedisProcess redis, double seconds) throws Exception {
        Node a = node(redis, "tput", "t1");
        try {
            long total = 0;
            long end = System.nanoTime() + (long) (seconds * 1e9);
            long t0 = System.nanoTime();
            long sent0 = a.cluster().status().failuresSent();
            int i = 0;
            byte[] b = new byte[4];
            while (System.nanoTime() < end) {
                // distinct sources, one failure each: no bans, every failure goes through the window script
                int v = 0x0B000000 | (i++ & 0x00FFFFFF);
                b[0] = (byte) (v >>> 24);
                b[1] = (byte) (v >>> 16);
                b[2] = (byte) (v >>> 8);
                b[3] = (byte) v;
                a.engine().recordFailure(InetAddress.getByAddress(b));
                total++;
                if ((total & 1023) == 0) {
                    Thread.sleep(1); // offer at a high but not absurd rate
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (a.cluster().status().pending() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            double elapsed = (System.nanoTime() - t0) / 1e9;
            long sent = a.cluster().status().failuresSent() - sent0;
            long local = a.cluster().status().failuresLocal();
            row("Failures/s one node pushes through the shared window (Lua script per failure)",
                    String.format(Locale.ROOT, "%,.0f /s (%,d of %,d offered; %,d counted only locally: queue full)",
                            sent / elapsed, sent, total, local), "", null);
            notes.add(String.format(Locale.ROOT, "Throughput: one node, %,d distinct sources offered one failure each for "
                    + "%.0f s by one thread (the handshake threads' part is a queue offer); the writer thread sends them "
                    + "in pipelined batches of up to 256. A failure that finds the queue full is counted locally only "
                    + "(the local window still bans).", total, seconds));
        } finally {
            a.cluster().close();
        }
    }

    // ------------------------------------------------------------------ 3. refusal rate

    private void refusal(RedisProcess redis, double turnSeconds, int turns) throws Exception {
        BenchPki pki = BenchPki.createIn(work.resolve("pki"));
        int bannedCount = 4096;
        LoopbackSources banned = new LoopbackSources(1, bannedCount);
        try (ServerProcess single = ServerProcess.java("tlsjail", pki, "-Dbench.banned=1:" + bannedCount,
                "-Dbench.f2blog=" + work.resolve("cluster-single-f2b.log"));
             ServerProcess clustered = ServerProcess.java("tlsjail", pki, "-Dbench.banned=1:" + bannedCount,
                     "-Dbench.f2blog=" + work.resolve("cluster-node-f2b.log"), "-Dbench.cluster=" + redis.uri())) {
            ServerProcess[] servers = {single, clustered};
            long[][] totals = new long[2][2];
            for (int turn = -1; turn < turns; turn++) {
                for (int s = 0; s < 2; s++) {
                    try (ConnectFlood flood = new ConnectFlood(new InetSocketAddress("127.0.0.1", servers[s].port()), banned, 4).start()) {
                        Thread.sleep(300);
                        long c0 = flood.connections();
                        long t0 = System.nanoTime();
                        Thread.sleep((long) (turnSeconds * 1000));
                        if (turn >= 0) {
                            totals[s][0] += flood.connections() - c0;
                            totals[s][1] += System.nanoTime() - t0;
                        }
                    }
                }
            }
            double rs = totals[0][0] / (totals[0][1] / 1e9);
            double rc = totals[1][0] / (totals[1][1] / 1e9);
            row("Refusal rate: cluster node vs single node (same connect flood from 4,096 banned sources)",
                    String.format(Locale.ROOT, "%.2fx (%,.0f vs %,.0f conn/s)", rc / rs, rc, rs), ">= 0.95x", rc / rs >= 0.95);
            notes.add(String.format(Locale.ROOT, "Refusal: bench's tlsjail listener twice in its own JVM, one of them also a "
                    + "cluster node on the same Redis; 4 client threads flood each in turn, %d turns of %.1f s after a "
                    + "warm-up turn. The accept path never touches Redis, so the ratio shows what the cluster's threads "
                    + "cost on a 2-core machine.", turns, turnSeconds));
        }
    }

    // ------------------------------------------------------------------ helpers

    private void row(String what, String value, String target, Boolean met) {
        rows.add("| " + what + " | " + value + " | " + target + " | " + (met == null ? "" : met ? "yes" : "**no**") + " |");
    }

    private static long pct(long[] sorted, double p) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
    }

    private static String ms(long nanos) {
        return String.format(Locale.ROOT, "%.2f ms", nanos / 1e6);
    }

    private static long[] concat(long[] a, long[] b) {
        long[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        Arrays.sort(c);
        return c;
    }

    private static String redisVersion() {
        try {
            Process p = new ProcessBuilder("redis-server", "--version").redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes()).trim();
            int i = v.indexOf("v=");
            return i < 0 ? v : v.substring(i + 2, v.indexOf(' ', i));
        } catch (java.io.IOException e) {
            return "?";
        }
    }

    private static void log(String what) {
        System.err.println("[cluster-bench] " + Instant.now() + " " + what);
    }
}
