package org.tlsjail.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.testing.Await;
import org.tlsjail.testing.RedisProcess;

/**
 * Three in-process nodes (engine + cluster client each) against a real redis-server: the shared
 * window, propagation of bans and unbans, fail-open during an outage and the merge afterwards,
 * catch-up of a node started late, hostile content in Redis, credentials.
 */
class ClusterNodeTest {
    private static final JailConfig JAIL = JailConfig.builder().maxRetry(3).findTime(Duration.ofMinutes(10))
            .banTime(Duration.ofHours(1)).build();

    @TempDir
    Path tmp;

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    record Node(BanEngine engine, ClusterNode cluster) {
    }

    private RedisProcess redis(String... extra) throws Exception {
        RedisProcess r = RedisProcess.start(tmp.resolve("redis"), extra);
        open.add(r);
        return r;
    }

    private Node node(RedisProcess r, String name) throws Exception {
        return node(r, name, null, null);
    }

    private Node node(RedisProcess r, String name, String user, String password) throws Exception {
        BanEngine e = new BanEngine(JAIL, InstantSource.system());
        open.add(e.startSweeper());
        ClusterNode c = ClusterNode.start(new ClusterSettings(r.uri(), null, user,
                password == null ? null : password.toCharArray(), "t", Duration.ofMillis(500), name, 1000),
                e, InstantSource.system(), lag -> { });
        open.add(c);
        return new Node(e, c);
    }

    private static InetAddress ip(String s) throws Exception {
        return InetAddress.getByName(s);
    }

    static void await(String what, BooleanSupplier condition) {
        Await.until(what, Duration.ofSeconds(20), condition);
    }

    @Test
    void oneFailureOnEachOfThreeNodesBansEverywhere() throws Exception {
        RedisProcess r = redis();
        Node a = node(r, "a");
        Node b = node(r, "b");
        Node c = node(r, "c");
        InetAddress attacker = ip("192.0.2.7");
        // the attacker's trick: spread the tries so no single node sees maxretry
        a.engine().recordFailure(attacker);
        await("a's failure counted in Redis", () -> a.cluster().status().failuresSent() == 1);
        b.engine().recordFailure(attacker);
        await("b's failure counted in Redis", () -> b.cluster().status().failuresSent() == 1);
        c.engine().recordFailure(attacker);
        for (Node n : List.of(a, b, c)) {
            await("banned on " + n.cluster().nodeName(), () -> n.engine().isBanned(attacker));
        }
        assertThat(a.cluster().originOf(a.engine().banOf(attacker).key())).isEqualTo("c");
        // a neighbour of the same /32 is not touched
        assertThat(a.engine().isBanned(ip("192.0.2.8"))).isFalse();
    }

    @Test
    void failuresOutsideFindtimeDoNotAddUpAndTwoFailuresDoNotBan() throws Exception {
        RedisProcess r = redis();
        Node a = node(r, "a");
        Node b = node(r, "b");
        InetAddress src = ip("192.0.2.9");
        a.engine().recordFailure(src);
        b.engine().recordFailure(src);
        await("both counted", () -> a.cluster().status().failuresSent() + b.cluster().status().failuresSent() == 2);
        assertThat(a.engine().isBanned(src) || b.engine().isBanned(src)).isFalse();
    }

    @Test
    void manualBanOnOneNodeRefusedOnTheOthersAndUnbanAnywhereLiftsIt() throws Exception {
        RedisProcess r = redis();
        Node a = node(r, "a");
        Node b = node(r, "b");
        Node c = node(r, "c");
        InetAddress src = ip("2001:db8::5");
        a.engine().ban(src, null, "manual");
        await("ban reached c", () -> c.engine().isBanned(src));
        await("ban reached b", () -> b.engine().isBanned(src));
        assertThat(c.cluster().originOf(c.engine().banOf(src).key())).isEqualTo("a");
        assertThat(b.engine().unban(src)).isTrue();
        await("unban reached a", () -> !a.engine().isBanned(src));
        await("unban reached c", () -> !c.engine().isBanned(src));
    }

    @Test
    void redisKilledNodesBanLocallyAndMergeBothWaysWhenItIsBack() throws Exception {
        RedisProcess r = redis();
        Node a = node(r, "a");
        Node b = node(r, "b");
        Node c = node(r, "c");
        InetAddress old = ip("198.51.100.1");
        a.engine().ban(old, null, "manual");
        await("old ban everywhere", () -> b.engine().isBanned(old) && c.engine().isBanned(old));

        r.kill9();
        // fail-open: the engines keep working alone, with the same thresholds
        InetAddress local = ip("198.51.100.2");
        for (int i = 0; i < 3; i++) {
            a.engine().recordFailure(local);
        }
        assertThat(a.engine().isBanned(local)).isTrue();
        await("a knows Redis is away", () -> !a.cluster().status().connected());
        await("b knows Redis is away", () -> !b.cluster().status().connected());
        assertThat(b.engine().isBanned(old)).as("cluster bans are kept during the outage").isTrue();
        // during the outage: a manual ban on c and the unban of the old ban on b
        InetAddress duringOutage = ip("198.51.100.3");
        c.engine().ban(duringOutage, null, "manual");
        Thread.sleep(5); // a later decision time than the old ban (ordering is by time)
        assertThat(b.engine().unban(old)).isTrue();
        await("c knows Redis is away", () -> !c.cluster().status().connected());

        r.launch(); // empty: it kept nothing
        for (Node n : List.of(a, b, c)) {
            await(n.cluster().nodeName() + " back", () -> n.cluster().status().connected());
        }
        await("c's outage ban reached a", () -> a.engine().isBanned(duringOutage));
        await("c's outage ban reached b", () -> b.engine().isBanned(duringOutage));
        await("a's local ban reached c", () -> c.engine().isBanned(local));
        await("b's outage unban reached a (not undone by a's older ban)", () -> !a.engine().isBanned(old));
        await("b's outage unban reached c", () -> !c.engine().isBanned(old));
        assertThat(b.engine().isBanned(old)).isFalse();
    }

    @Test
    void aBanOlderThanAnUnbanDoesNotComeBack() throws Exception {
        RedisProcess r = redis();
        Node a = node(r, "a");
        Node b = node(r, "b");
        InetAddress src = ip("203.0.113.4");
        a.engine().ban(src, null, "manual");
        await("on b", () -> b.engine().isBanned(src));
        b.engine().unban(src);
        await("lifted on a", () -> !a.engine().isBanned(src));
        // a node still holding the old ban (e.g. from its journal) joins: it must not revive it
        BanEngine late = new BanEngine(JAIL, InstantSource.system());
        late.restore(new org.tlsjail.banengine.BanRecord(org.tlsjail.banengine.SourceKey.of(src, 32, 64), java.time.Instant.now().minusSeconds(60),
                java.time.Instant.now().plusSeconds(3600), 1, "manual"));
        ClusterNode lc = ClusterNode.start(new ClusterSettings(r.uri(), null, null, null, "t", Duration.ofMillis(500),
                "late", 1000), late, InstantSource.system(), x -> { });
        open.add(lc);
        assertThat(late.isBanned(src)).isFalse();
        Thread.sleep(300);
        assertThat(a.engine().isBanned(src)).isFalse();
    }

    @Test
    void aNodeStartedLaterRefusesAClusterBanAtOnce() throws Exception {
        RedisProcess r = redis();
        Node a = node(r, "a");
        InetAddress src = ip("203.0.113.5");
        a.engine().ban(src, null, "manual");
        await("announced", () -> a.cluster().status().eventsOut() == 1);
        Node b = node(r, "b"); // start() merges before it returns, i.e. before a listener would serve
        assertThat(b.engine().isBanned(src)).isTrue();
        assertThat(b.cluster().originOf(b.engine().banOf(src).key())).isEqualTo("a");
    }

    @Test
    void garbageUnderThePrefixIsSkippedAndCounted() throws Exception {
        RedisProcess r = redis();
        long now = System.currentTimeMillis();
        String valid = "203.0.113.6";
        // the ban set: a valid ban, a member that is no address, one with host bits below its prefix,
        // an absurdly long ban, a ban decided far in the future, info that is no ban at all
        r.command(null, "ZADD", "{t}:bans", Long.toString(now + 3_600_000), valid, Long.toString(now + 3_600_000),
                "not-an-ip", Long.toString(now + 3_600_000), "10.0.0.1/8", Long.toString(now + 3_600_000), "10.0.0.2",
                Long.toString(now + 3_600_000), "10.0.0.3", Long.toString(now + 3_600_000), "10.0.0.4");
        r.command(null, "HSET", "{t}:ban-info", valid, now + "|" + (now + 3_600_000) + "|1|a|manual",
                "not-an-ip", now + "|" + (now + 3_600_000) + "|1|a|x",
                "10.0.0.1/8", now + "|" + (now + 3_600_000) + "|1|a|x",
                "10.0.0.2", now + "|" + (now + 3_600_000_000_000L) + "|1|a|x",
                "10.0.0.3", (now + 86_400_000) + "|" + (now + 90_000_000) + "|1|a|x",
                "10.0.0.4", "garbage");
        // the stream: entries of unknown type, missing fields, a node name with a newline, a huge reason
        r.command(null, "XADD", "{t}:events", "*", "t", "drop table");
        r.command(null, "XADD", "{t}:events", "*", "t", "ban", "k", "10.0.0.5");
        r.command(null, "XADD", "{t}:events", "*", "t", "ban", "k", "10.0.0.6", "s", Long.toString(now), "u",
                Long.toString(now + 60_000), "c", "1", "n", "evil\nnode", "r", "x");
        r.command(null, "XADD", "{t}:events", "*", "t", "ban", "k", "10.0.0.7", "s", Long.toString(now), "u",
                Long.toString(now + 60_000), "c", "1", "n", "evil", "r", "x".repeat(100_000));
        // a window key of the wrong type for one source
        r.command(null, "SET", "{t}:window:10.0.0.8", "not a sorted set");

        Node a = node(r, "a");
        assertThat(a.engine().isBanned(ip(valid))).isTrue();
        for (String bad : List.of("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4")) {
            assertThat(a.engine().isBanned(ip(bad))).as(bad).isFalse();
        }
        assertThat(a.cluster().status().invalid()).isGreaterThanOrEqualTo(5);
        // the stream garbage is read only by nodes following the stream from before it: replay it
        r.command(null, "XADD", "{t}:events", "*", "t", "ban", "k", "10.0.0.9", "s", Long.toString(now), "u",
                Long.toString(now + 60_000), "c", "1", "n", "evil", "r", "x".repeat(100_000));
        r.command(null, "XADD", "{t}:events", "*", "t", "ban", "k", "10.0.0.10", "s", Long.toString(now), "u",
                Long.toString(now + 60_000), "c", "0", "n", "evil", "r", "x");
        await("stream garbage counted", () -> a.cluster().status().invalid() >= 7);
        assertThat(a.engine().isBanned(ip("10.0.0.9"))).isFalse();
        // still working: the wrong-type window only costs that source its shared count
        a.engine().recordFailure(ip("10.0.0.8"));
        await("error counted", () -> a.cluster().status().redisErrors() >= 1);
        InetAddress src = ip("203.0.113.7");
        a.engine().ban(src, null, "manual");
        await("still announcing", () -> a.cluster().status().eventsOut() >= 1);
        assertThat(a.cluster().status().connected()).isTrue();
    }

    /**
     * Someone with write access to the prefix plants bans for keys no node makes: the whole
     * Internet, a partner's network, a foreign IPv6 prefix, all in the canonical form a node
     * writes. The engine never matches them at accept (its lookups use its own prefixes), but its
     * listeners would pass them on: the nftables bridge would drop every source on the port.
     */
    @Test
    void bansForPrefixesNoNodeBansByAreSkippedAndReachNoListener() throws Exception {
        RedisProcess r = redis();
        long now = System.currentTimeMillis();
        String until = Long.toString(now + 3_600_000);
        List<String> foreign = List.of("0.0.0.0/0", "::/0", "10.9.0.0/16", "2001:db8::/32", "2001:db8:1:2:3::/80");
        for (String k : foreign) {
            r.command(null, "ZADD", "{t}:bans", until, k);
            r.command(null, "HSET", "{t}:ban-info", k, now + "|" + until + "|1|evil|x");
        }
        List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        BanEngine e = new BanEngine(JAIL, InstantSource.system());
        e.addListener(new org.tlsjail.banengine.BanListener() {
            @Override
            public void onBan(org.tlsjail.banengine.BanRecord ban) {
                seen.add(ban.key().toString());
            }

            @Override
            public void onUnban(org.tlsjail.banengine.BanRecord ban, UnbanCause cause) {
            }
        });
        ClusterNode c = ClusterNode.start(new ClusterSettings(r.uri(), null, null, null, "t", Duration.ofMillis(500),
                "a", 1000), e, InstantSource.system(), x -> { });
        open.add(c);
        assertThat(seen).as("bans handed to the listeners (journal, bridges)").isEmpty();
        assertThat(c.status().invalid()).isEqualTo(foreign.size());
        // the same through the stream, followed by one valid ban to know the others were read
        for (String k : foreign) {
            r.command(null, "XADD", "{t}:events", "*", "t", "ban", "k", k, "s", Long.toString(now), "u", until,
                    "c", "1", "n", "evil", "r", "x");
        }
        r.command(null, "XADD", "{t}:events", "*", "t", "ban", "k", "203.0.113.9", "s", Long.toString(now), "u",
                until, "c", "1", "n", "evil", "r", "x");
        await("the valid stream ban (after the others) applied", () -> !seen.isEmpty());
        assertThat(seen).containsExactly("203.0.113.9");
        assertThat(c.status().invalid()).isEqualTo(2L * foreign.size());
        assertThat(e.stats().activeBans()).isEqualTo(1);
        assertThat(e.isBanned(ip("10.9.1.1"))).isFalse();
    }

    /**
     * Someone with write access plants 20 MB values where a merge and the heartbeat read: the
     * newest stream entry, a ban-set member, a ban-info value, a node name. Read plainly, each
     * came into the node at every merge and heartbeat; a large one timed the merge out again at
     * every reconnect, so the node stayed apart from the cluster for good. Redis' own byte
     * counter shows whether they left Redis at all.
     */
    @Test
    void hugeValuesPlantedUnderThePrefixNeverLeaveRedis() throws Exception {
        RedisProcess r = redis();
        long now = System.currentTimeMillis();
        int big = 20_000_000;
        String until = Long.toString(now + 3_600_000);
        r.command(null, "EVAL", """
                local big = string.rep('x', tonumber(ARGV[1]))
                redis.call('ZADD', KEYS[1], ARGV[2], big)
                redis.call('ZADD', KEYS[1], ARGV[2], '203.0.113.8')
                redis.call('HSET', KEYS[2], '203.0.113.8', ARGV[3] .. '|' .. ARGV[2] .. '|1|evil|' .. big)
                redis.call('ZADD', KEYS[3], ARGV[3], big)
                redis.call('XADD', KEYS[4], '*', 't', 'ban', 'k', '203.0.113.9', 'r', big)
                return 1""", "4", "{t}:bans", "{t}:ban-info", "{t}:nodes", "{t}:events", Integer.toString(big), until,
                Long.toString(now));
        long before = netOutputBytes(r);
        Node a = node(r, "a");
        await("a heartbeat: the node sees itself", () -> a.cluster().status().nodesSeen().contains("a"));
        r.command(null, "XADD", "{t}:events", "*", "t", "ban", "k", "203.0.113.10", "s", Long.toString(now), "u", until,
                "c", "1", "n", "b", "r", "x");
        InetAddress valid = ip("203.0.113.10");
        await("a valid ban after them applied", () -> a.engine().isBanned(valid));
        assertThat(netOutputBytes(r) - before).as("bytes Redis sent").isLessThan(big / 4);
        assertThat(a.cluster().status().connected()).isTrue();
        assertThat(a.cluster().status().invalid()).isEqualTo(2); // the long member, the long info
        assertThat(a.engine().isBanned(ip("203.0.113.8"))).isFalse();
    }

    private static long netOutputBytes(RedisProcess r) throws Exception {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("total_net_output_bytes:(\\d+)")
                .matcher(r.command(null, "INFO", "stats"));
        assertThat(m.find()).isTrue();
        return Long.parseLong(m.group(1));
    }

    @Test
    void bansTakenFromRedisAreBoundedByMaxBans() throws Exception {
        RedisProcess r = redis();
        long now = System.currentTimeMillis();
        for (int i = 1; i <= 50; i++) {
            String k = "10.1.0." + i;
            r.command(null, "ZADD", "{t}:bans", Long.toString(now + 3_600_000 + i), k);
            r.command(null, "HSET", "{t}:ban-info", k, now + "|" + (now + 3_600_000 + i) + "|1|a|manual");
        }
        BanEngine e = new BanEngine(JAIL.toBuilder().maxBans(10).build(), InstantSource.system());
        ClusterNode c = ClusterNode.start(new ClusterSettings(r.uri(), null, null, null, "t", Duration.ofMillis(500),
                "small", 1000), e, InstantSource.system(), x -> { });
        open.add(c);
        assertThat(e.stats().activeBans()).isEqualTo(10);
    }

    @Test
    void passwordFromSettingsAndAWrongPasswordIsAClearStartError() throws Exception {
        RedisProcess r = redis("--requirepass", "s3cret-pw");
        Node a = node(r, "a", null, "s3cret-pw");
        assertThat(a.cluster().status().connected()).isTrue();
        BanEngine e = new BanEngine(JAIL, InstantSource.system());
        assertThatThrownBy(() -> ClusterNode.start(new ClusterSettings(r.uri(), null, null, "wrong".toCharArray(), "t",
                Duration.ofMillis(500), "b", 1000), e, InstantSource.system(), x -> { }))
                .isInstanceOf(ClusterStartException.class).hasMessageContaining("refused the credentials");
        assertThatThrownBy(() -> ClusterNode.start(new ClusterSettings(r.uri(), null, null, null, "t",
                Duration.ofMillis(500), "c", 1000), e, InstantSource.system(), x -> { }))
                .isInstanceOf(ClusterStartException.class).hasMessageContaining("refused the credentials");
    }

    @Test
    void aclUserLimitedToThePrefixWorks() throws Exception {
        RedisProcess r = redis();
        assertThat(r.command(null, "ACL", "SETUSER", "tj", "on", ">tj-pw", "~{t}:*", "resetchannels",
                "-@all", "+evalsha", "+script|load", "+zadd", "+zscore", "+zrem", "+zcard", "+zrangebyscore", "+zrevrangebyscore",
                "+zremrangebyscore", "+hset", "+hget", "+hdel", "+hmget", "+del", "+pexpire", "+xadd", "+xread",
                "+xrange", "+xrevrange", "+ping", "+hello", "+auth"))
                .startsWith("+OK");
        Node a = node(r, "a", "tj", "tj-pw");
        Node b = node(r, "b", "tj", "tj-pw");
        InetAddress src = ip("203.0.113.8");
        a.engine().ban(src, null, "manual");
        await("ban reached b through the limited user", () -> b.engine().isBanned(src));
        // the same user may not touch keys outside its prefix, nor run other commands
        assertThat(r.commands(List.of("AUTH", "tj", "tj-pw"), List.of("ZADD", "{other}:bans", "1", "10.9.9.9")))
                .contains("NOPERM");
        assertThat(r.commands(List.of("AUTH", "tj", "tj-pw"), List.of("FLUSHALL"))).contains("NOPERM");
    }

    @Test
    void unreachableRedisAtStartIsNotFatalAndTheNodeJoinsWhenItAppears() throws Exception {
        RedisProcess r = redis();
        r.kill9();
        BanEngine e = new BanEngine(JAIL, InstantSource.system());
        ClusterNode c = ClusterNode.start(new ClusterSettings(r.uri(), null, null, null, "t", Duration.ofMillis(300),
                "early", 1000), e, InstantSource.system(), x -> { });
        open.add(c);
        assertThat(c.status().connected()).isFalse();
        assertThat(c.status().lastError()).isNotBlank();
        InetAddress src = ip("203.0.113.9");
        e.ban(src, null, "manual");
        r.launch();
        await("joined", () -> c.status().connected());
        Node b = node(r, "b");
        assertThat(b.engine().isBanned(src)).isTrue();
    }
}
