package org.tlsjail.bridge.nftables;

import org.tlsjail.testing.RealPeer;
import org.tlsjail.testing.Await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.FailDuration;
import org.tlsjail.banengine.FailureOutcome;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.bridge.BridgeStartException;
import org.tlsjail.bridge.MutableClock;

/**
 * The nftables bridge against the real kernel and nft, inside two network namespaces the test
 * creates (server and client, joined by a veth pair). Needs root; skipped with a reason otherwise.
 */
class NftablesBridgeTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    /** Long enough for a SYN/SYN-ACK over a veth pair, short enough for a dropped SYN to time out. */
    private static final int CONNECT_TIMEOUT_MS = 1500;

    @TempDir
    static Path dir;
    private static NetnsLab lab;
    private static Path nft;

    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-30T08:00:00Z"));
    private final BanEngine engine = new BanEngine(JailConfig.defaults(), clock);
    private NftablesBridge bridge;

    @BeforeAll
    static void createNamespaces() throws Exception {
        String why = NetnsLab.unavailableReason();
        RealPeer.require(why == null, "nftables namespace test skipped: " + why);
        RealPeer.require(NftRunner.resolve(Path.of("nft")) != null,
                "nftables namespace test skipped: no nft program (Debian package nftables)");
        lab = new NetnsLab(dir);
        try {
            lab.create();
            lab.startAgents();
            nft = lab.nftWrapper("nft-in-server-ns", "");
        } catch (Exception e) {
            lab.close();
            throw e;
        }
    }

    @AfterAll
    static void removeNamespaces() {
        if (lab != null) {
            lab.close();
        }
    }

    @AfterEach
    void closeBridge() {
        if (bridge != null) {
            bridge.close();
        }
    }

    private NftablesBridgeConfig config(String table) {
        return NftablesBridgeConfig.defaults().withNft(nft).withTable(table).withPort(lab.port);
    }

    private NftablesBridge start(NftablesBridgeConfig config) {
        bridge = new NftablesBridge(config, engine::banned, clock);
        engine.addListener(bridge);
        bridge.start();
        return bridge;
    }

    private void fail3(String address) throws Exception {
        InetAddress a = InetAddress.getByName(address);
        engine.recordFailure(a);
        engine.recordFailure(a);
        assertThat(engine.recordFailure(a)).isEqualTo(FailureOutcome.BANNED);
    }

    private void awaitApplied(long atLeast) {
        Await.until("the bridge applied " + atLeast + " change(s)", WAIT,
                () -> bridge.status().applied() >= atLeast && bridge.status().pending() == 0,
                () -> bridge.status().summary());
    }

    /** Connects from {@code source} and asserts the server accepted exactly that connection. */
    private void assertReachesAccept(String source) throws Exception {
        assertThat(lab.connect(source, CONNECT_TIMEOUT_MS)).as("connect from " + source).isEqualTo("CONNECTED");
        assertThat(lab.nextAcceptFrom(10_000)).as("next accept").isEqualTo(source);
    }

    @Test
    void aBannedClientNeverReachesAcceptOthersDoAndUnbanLetsItBackIn() throws Exception {
        start(config("tjdrop"));
        assertReachesAccept(lab.clientA);

        fail3(lab.clientA);
        awaitApplied(1);
        int acceptsBefore = lab.accepts();
        assertThat(lab.connect(lab.clientA, CONNECT_TIMEOUT_MS)).as("banned source, action drop").isEqualTo("TIMEOUT");
        // the other address still gets through, and it is the next (and only) accept
        assertReachesAccept(lab.clientB);
        assertThat(lab.accepts()).isEqualTo(acceptsBefore + 1);
        assertThat(lab.nft("list", "set", "inet", "tjdrop", "v4")).contains(lab.clientA).doesNotContain(lab.clientB);

        assertThat(engine.unban(InetAddress.getByName(lab.clientA))).isTrue();
        awaitApplied(2);
        assertReachesAccept(lab.clientA);
        assertThat(bridge.status().lastError()).isNull();
    }

    @Test
    void rejectActionRefusesTheConnectionAtOnce() throws Exception {
        start(config("tjreject").withAction(NftAction.REJECT));
        engine.ban(InetAddress.getByName(lab.clientB), null, "manual");
        awaitApplied(1);
        assertThat(lab.connect(lab.clientB, CONNECT_TIMEOUT_MS)).isEqualTo("REFUSED");
        assertReachesAccept(lab.clientA);
    }

    @Test
    void elementTimeoutsAreWhatIsLeftOfEachBanAndAPrefixIsOneElement() throws Exception {
        // bans the engine holds before the bridge starts: start() reconciles them
        engine.ban(InetAddress.getByName("192.0.2.10"), Duration.ofHours(1), "manual");
        engine.ban(InetAddress.getByName("192.0.2.11"), FailDuration.PERMANENT, "manual");
        clock.advance(Duration.ofMinutes(45));
        start(config("tjtimes"));
        String v4 = lab.nft("list", "set", "inet", "tjtimes", "v4");
        assertThat(v4).containsPattern("192\\.0\\.2\\.10 timeout 15m");
        assertThat(v4).containsPattern("192\\.0\\.2\\.11(,|\\s*\\})").doesNotContainPattern("192\\.0\\.2\\.11 timeout");

        fail3("2001:db8:1:2::5"); // default ipv6-prefix 64
        awaitApplied(3);
        assertThat(lab.nft("list", "set", "inet", "tjtimes", "v6")).contains("2001:db8:1:2::/64 timeout 1h");
    }

    @Test
    void theTableIsRemovedAtStopUnlessKeepOnStop() throws Exception {
        start(config("tjgone"));
        assertThat(lab.nft("list", "tables")).contains("table inet tjgone");
        bridge.close();
        bridge = null;
        assertThat(lab.nft("list", "tables")).doesNotContain("table inet tjgone");

        start(config("tjkept").withKeepOnStop(true));
        engine.ban(InetAddress.getByName("192.0.2.20"), null, "manual");
        awaitApplied(1);
        bridge.close();
        bridge = null;
        assertThat(lab.nft("list", "set", "inet", "tjkept", "v4")).contains("192.0.2.20");
        lab.nft("delete", "table", "inet", "tjkept");
    }

    @Test
    void aTableDeletedBehindItsBackIsRecreatedWithTheBans() throws Exception {
        start(config("tjheal").withQueue(q -> q.withReconcileInterval(Duration.ofMillis(200))));
        engine.ban(InetAddress.getByName("192.0.2.30"), null, "manual");
        awaitApplied(1);
        lab.nft("delete", "table", "inet", "tjheal"); // what a firewall reload does
        Await.until("table recreated with the ban", WAIT, () -> {
            try {
                return lab.nft("list", "set", "inet", "tjheal", "v4").contains("192.0.2.30");
            } catch (Exception e) {
                return false;
            }
        }, () -> bridge.status().summary());
        assertThat(bridge.status().lastError()).contains("recreated");
    }

    @Test
    void startFailsClearlyWithoutNft() {
        NftablesBridge b = new NftablesBridge(config("tjnone").withNft(dir.resolve("no-such-nft")), engine::banned, clock);
        assertThatThrownBy(b::start).isInstanceOf(BridgeStartException.class)
                .hasMessageContaining("bridge.nftables.nft").hasMessageContaining("no-such-nft");
        b.close();
    }

    @Test
    void startFailsClearlyWithoutCapNetAdmin() throws Exception {
        Path unprivileged = lab.nftWrapper("nft-without-cap",
                "setpriv --inh-caps=-net_admin --ambient-caps=-net_admin --bounding-set=-net_admin");
        NftablesBridge b = new NftablesBridge(config("tjnocap").withNft(unprivileged), engine::banned, clock);
        assertThatThrownBy(b::start).isInstanceOf(BridgeStartException.class)
                .hasMessageContaining("CAP_NET_ADMIN").hasMessageContaining("Operation not permitted");
        b.close();
        assertThat(lab.nft("list", "tables")).doesNotContain("tjnocap");
    }
}
