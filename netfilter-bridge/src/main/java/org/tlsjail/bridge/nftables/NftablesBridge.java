package org.tlsjail.bridge.nftables;

import java.io.IOException;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsjail.banengine.BanRecord;
import org.tlsjail.banengine.SourceKey;
import org.tlsjail.bridge.BridgeStartException;
import org.tlsjail.bridge.BridgeStatus;
import org.tlsjail.bridge.QueuedBridge;

/**
 * Keeps tlsjail's bans in an nftables table of its own, so the kernel drops (or rejects) new
 * connections from a banned source to the listener's port before they reach accept().
 *
 * <p>The table ({@code inet <table>}) holds an IPv4 and an IPv6 set with interval and timeout
 * flags: prefixes such as a /64 are single elements, and each element expires by itself when its
 * ban ends. Engine events are queued (coalesced per source, bounded) and applied in batches, one
 * {@code nft -f -} per batch, on the bridge's own thread.
 */
public final class NftablesBridge extends QueuedBridge<SourceKey, NftablesBridge.Change> {
    private static final Logger LOG = LoggerFactory.getLogger(NftablesBridge.class);
    private static final int BATCH = 512;

    /** A queued change for one source: its ban (add or refresh) or its removal. */
    record Change(BanRecord ban) {
        boolean isRemoval() {
            return ban == null;
        }
    }

    private final NftablesBridgeConfig config;
    private final Supplier<List<BanRecord>> activeBans;
    private final InstantSource clock;
    private NftRunner runner;

    /**
     * @param config     the {@code bridge.nftables} settings
     * @param activeBans the engine's active bans ({@code engine::banned}), for reconciliation
     * @param clock      the engine's clock: element timeouts are what is left of each ban
     */
    public NftablesBridge(NftablesBridgeConfig config, Supplier<List<BanRecord>> activeBans, InstantSource clock) {
        super(Objects.requireNonNull(config, "config").queue(), BATCH, clock);
        this.config = config;
        this.activeBans = Objects.requireNonNull(activeBans, "activeBans");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public NftablesBridgeConfig config() {
        return config;
    }

    // ---------------------------------------------------------------- lifecycle

    @Override
    protected String kind() {
        return "nftables";
    }

    @Override
    protected String threadName() {
        return "nftables-" + config.table();
    }

    @Override
    protected void open() {
        java.nio.file.Path nft = NftRunner.resolve(config.nft());
        if (nft == null) {
            throw new BridgeStartException("bridge.nftables.nft: no executable nft program at '" + config.nft()
                    + "'" + (config.nft().toString().contains("/") ? "" : " (searched PATH, /usr/sbin, /sbin)")
                    + "; install nftables (Debian package nftables) or set bridge.nftables.nft");
        }
        runner = new NftRunner(nft, config.queue().timeout());
        NftRunner.Result created;
        try {
            created = runner.apply(new NftScript(config.table()).createTable(config.port(), config.action()).toString());
        } catch (IOException e) {
            throw new BridgeStartException("bridge.nftables.nft: could not run " + nft + ": " + e.getMessage(), e);
        }
        if (!created.ok()) {
            throw new BridgeStartException(createFailure(nft, created));
        }
        try {
            reconcileAll();
        } catch (IOException e) {
            deleteTable();
            throw new BridgeStartException("bridge.nftables: table inet " + config.table()
                    + " created, but adding the active bans failed: " + e.getMessage(), e);
        }
        LOG.info("nftables bridge started: table inet {}, tcp port {}, {}", config.table(), config.port(),
                config.action().name().toLowerCase(java.util.Locale.ROOT));
    }

    private String createFailure(java.nio.file.Path nft, NftRunner.Result r) {
        String out = r.output();
        String hint = out.contains("Operation not permitted") || out.contains("must be root")
                ? "nft needs CAP_NET_ADMIN: run tlsjail as root or grant it CAP_NET_ADMIN"
                + " (systemd: AmbientCapabilities=CAP_NET_ADMIN), or disable bridge.nftables"
                : "check bridge.nftables.table and bridge.nftables.port";
        return "bridge.nftables: " + nft + " could not create table inet " + config.table() + " (exit "
                + r.exitCode() + "): " + out.replaceAll("\\s+", " ") + "; " + hint;
    }

    @Override
    protected void released(boolean started, boolean threadEnded) {
        if (started && !config.keepOnStop()) {
            deleteTable();
        }
    }

    private void deleteTable() {
        try {
            NftRunner.Result r = runner.apply(new NftScript(config.table()).deleteTable().toString());
            if (!r.ok()) {
                LOG.warn("nftables bridge: could not delete table inet {}: {}", config.table(), r.output());
            }
        } catch (IOException e) {
            LOG.warn("nftables bridge: could not delete table inet {}: {}", config.table(), e.getMessage());
        }
    }

    @Override
    public BridgeStatus status() {
        return health.snapshot("nftables table inet " + config.table() + " tcp port " + config.port(),
                pending.size(), pending.dropped());
    }

    // ---------------------------------------------------------------- events (engine lock held)

    @Override
    public void onBan(BanRecord ban) {
        pending.offer(ban.key(), new Change(ban), (old, now) -> now);
    }

    @Override
    public void onUnban(BanRecord ban, UnbanCause cause) {
        pending.offer(ban.key(), new Change(null), (old, now) -> now);
    }

    // ---------------------------------------------------------------- bridge thread

    @Override
    protected void failed(IOException e, long retryInMillis) {
        LOG.warn("nftables bridge: {}; retrying in {} ms, changes stay queued", e.getMessage(), retryInMillis);
        health.error(e.getMessage());
        health.connected(false);
    }

    @Override
    protected void apply(List<Map.Entry<SourceKey, Change>> batch) throws IOException {
        try {
            applyBatch(batch);
        } catch (IOException e) {
            pending.putBack(batch);
            throw e;
        }
    }

    /**
     * Applies a batch in one nft run. If nft refuses the file (which it applies all or nothing),
     * each change is retried alone, so one element nft rejects (say, a prefix overlapping an
     * existing one) cannot hold back the others; the rejected one is reported and dropped.
     * IOException only if nft could not be run at all.
     */
    private void applyBatch(List<Map.Entry<SourceKey, Change>> batch) throws IOException {
        Instant now = clock.instant();
        NftScript script = new NftScript(config.table());
        for (Map.Entry<SourceKey, Change> e : batch) {
            write(script, e.getKey(), e.getValue(), now);
        }
        if (script.isEmpty()) {
            return;
        }
        NftRunner.Result r = runner.apply(script.toString());
        if (r.ok()) {
            health.applied(batch.size());
            return;
        }
        if (batch.size() == 1) {
            refused(batch.get(0).getKey(), r);
            return;
        }
        for (Map.Entry<SourceKey, Change> e : batch) {
            NftScript one = new NftScript(config.table());
            write(one, e.getKey(), e.getValue(), now);
            if (one.isEmpty()) {
                continue;
            }
            NftRunner.Result single = runner.apply(one.toString());
            if (single.ok()) {
                health.applied(1);
            } else {
                refused(e.getKey(), single);
            }
        }
    }

    private static void write(NftScript script, SourceKey key, Change change, Instant now) {
        if (change.isRemoval() || !script.add(change.ban(), now)) {
            script.remove(key);
        }
    }

    private void refused(SourceKey key, NftRunner.Result r) {
        String m = "nft refused the change for " + key + " (exit " + r.exitCode() + "): " + r.output();
        LOG.warn("nftables bridge: {}", m);
        health.error(m);
    }

    /**
     * Periodic check: if the table is gone (a firewall reload flushed the ruleset), it is created
     * again; then every active ban is (re)written, which also refreshes the timeouts of bans
     * longer than {@link NftScript#MAX_TIMEOUT}.
     */
    @Override
    protected void reconcile() throws IOException {
        NftRunner.Result listed = runner.run(null, "list", "table", "inet", config.table());
        if (!listed.ok()) {
            LOG.warn("nftables bridge: table inet {} is gone ({}); creating it again", config.table(), listed.output());
            health.error("table inet " + config.table() + " was missing; recreated");
            NftRunner.Result created = runner.apply(
                    new NftScript(config.table()).createTable(config.port(), config.action()).toString());
            if (!created.ok()) {
                throw new IOException("could not recreate table inet " + config.table() + ": " + created.output());
            }
            reconcileAll();
            return;
        }
        Instant now = clock.instant();
        List<BanRecord> longBans = new ArrayList<>();
        for (BanRecord b : activeBans.get()) {
            if (!b.isPermanent() && b.until().isAfter(now.plus(NftScript.MAX_TIMEOUT))) {
                longBans.add(b);
            }
        }
        addAll(longBans);
    }

    /** Writes every active ban into the (fresh) sets. */
    private void reconcileAll() throws IOException {
        addAll(activeBans.get());
    }

    private void addAll(List<BanRecord> bans) throws IOException {
        List<Map.Entry<SourceKey, Change>> chunk = new ArrayList<>(BATCH);
        for (BanRecord b : bans) {
            chunk.add(Map.entry(b.key(), new Change(b)));
            if (chunk.size() == BATCH) {
                applyBatch(chunk);
                chunk = new ArrayList<>(BATCH);
            }
        }
        if (!chunk.isEmpty()) {
            applyBatch(chunk);
        }
    }
}
