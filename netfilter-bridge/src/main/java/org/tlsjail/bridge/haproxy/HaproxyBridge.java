package org.tlsjail.bridge.haproxy;

import java.io.IOException;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsjail.banengine.BanRecord;
import org.tlsjail.banengine.SourceKey;
import org.tlsjail.bridge.BridgeStartException;
import org.tlsjail.bridge.BridgeStatus;
import org.tlsjail.bridge.QueuedBridge;

/**
 * Puts tlsjail's bans into a HAProxy in front of it: each ban becomes an entry of an ACL file that
 * HAProxy's configuration uses to reject connections ({@code tcp-request connection reject if
 * { src -f <file> }}), through HAProxy's runtime API ({@code add acl}, {@code del acl}). Behind a
 * balancer the host's own firewall only ever sees the balancer, so this is where a host-level ban
 * has to live.
 *
 * <p>The ACL is tlsjail's alone: reconciliation ({@code show acl}) adds what is missing and removes
 * what is not an active ban. HAProxy keeps runtime changes in memory only, so after a HAProxy
 * restart or reload the next reconciliation (at most {@code reconcile-interval} later, or at the
 * first failed request) restores them.
 */
public final class HaproxyBridge extends QueuedBridge<SourceKey, HaproxyBridge.Change> {
    private static final Logger LOG = LoggerFactory.getLogger(HaproxyBridge.class);
    private static final int BATCH = 256;
    /** Commands per request: one line well within HAProxy's 16 kB command buffer. */
    private static final int PER_REQUEST = 64;
    private static final String UNKNOWN_ACL = "Unknown ACL identifier";

    /** A queued change for one source: add (or refresh) its entry, or remove it. */
    enum Change { ADD, REMOVE }

    private final HaproxyBridgeConfig config;
    private final Supplier<List<BanRecord>> activeBans;
    private final HaproxyRuntimeApi api;

    /**
     * @param config     the {@code bridge.haproxy} settings
     * @param activeBans the engine's active bans ({@code engine::banned}), for reconciliation
     * @param clock      time for status timestamps
     */
    public HaproxyBridge(HaproxyBridgeConfig config, Supplier<List<BanRecord>> activeBans, InstantSource clock) {
        super(Objects.requireNonNull(config, "config").queue(), BATCH, clock);
        this.config = config;
        this.activeBans = Objects.requireNonNull(activeBans, "activeBans");
        this.api = new HaproxyRuntimeApi(config.endpoint(), config.queue().timeout());
    }

    public HaproxyBridgeConfig config() {
        return config;
    }

    @Override
    protected String kind() {
        return "HAProxy";
    }

    @Override
    protected String threadName() {
        return "haproxy";
    }

    @Override
    protected void open() {
        List<List<String>> answers;
        try {
            answers = api.run(List.of("show cli level", "show acl " + config.acl()));
        } catch (IOException e) {
            throw new BridgeStartException(option() + ": cannot use HAProxy's runtime API at " + config.endpointName()
                    + ": " + describe(e) + " (is haproxy running with `stats socket " + config.endpointName()
                    + " level admin`, and may this user open it?)", e);
        }
        String level = answers.get(0).isEmpty() ? "" : answers.get(0).get(0).strip();
        if (!level.equals("admin")) {
            throw new BridgeStartException(option() + ": HAProxy's stats socket " + config.endpointName()
                    + " has level '" + printable(level) + "'; adding ACL entries needs `level admin` on it");
        }
        if (refusal(answers.get(1)) != null) {
            throw new BridgeStartException("bridge.haproxy.acl: HAProxy at " + config.endpointName() + " has no ACL '"
                    + config.acl() + "' (" + printable(refusal(answers.get(1))) + "); its configuration must use that"
                    + " file, e.g. `tcp-request connection reject if { src -f " + config.acl() + " }`");
        }
        try {
            reconcileWith(answers.get(1));
        } catch (IOException e) {
            throw new BridgeStartException(option() + ": HAProxy at " + config.endpointName()
                    + " took the ACL listing but not the active bans: " + describe(e), e);
        }
        LOG.info("HAProxy bridge started: acl {} at {}", config.acl(), config.endpointName());
    }

    private String option() {
        return config.socket() != null ? "bridge.haproxy.socket" : "bridge.haproxy.address";
    }

    @Override
    public BridgeStatus status() {
        return health.snapshot(config.toString(), pending.size(), pending.dropped());
    }

    // ---------------------------------------------------------------- events (engine lock held)

    @Override
    public void onBan(BanRecord ban) {
        pending.offer(ban.key(), Change.ADD, (old, now) -> now);
    }

    @Override
    public void onUnban(BanRecord ban, UnbanCause cause) {
        pending.offer(ban.key(), Change.REMOVE, (old, now) -> now);
    }

    // ---------------------------------------------------------------- bridge thread

    @Override
    protected void failed(IOException e, long retryInMillis) {
        if (health.isConnected()) {
            LOG.warn("HAProxy bridge: {} at {}; retrying in {} ms, changes stay queued", describe(e),
                    config.endpointName(), retryInMillis);
        }
        health.error(describe(e));
        health.connected(false);
        requestReconcile(); // HAProxy may have restarted meanwhile and forgotten every runtime entry
    }

    /**
     * Sends the batch, {@link #PER_REQUEST} changes per request. An add is a {@code del} then an
     * {@code add}, so a refreshed ban never leaves a duplicate entry behind. On a transport failure
     * (or an unknown ACL: HAProxy reloading) what was not sent is put back.
     */
    @Override
    protected void apply(List<Map.Entry<SourceKey, Change>> batch) throws IOException {
        for (int i = 0; i < batch.size(); i += PER_REQUEST) {
            List<Map.Entry<SourceKey, Change>> chunk = batch.subList(i, Math.min(batch.size(), i + PER_REQUEST));
            try {
                send(chunk);
            } catch (IOException e) {
                pending.putBack(new ArrayList<>(batch.subList(i, batch.size())));
                throw e;
            }
        }
    }

    private void send(List<Map.Entry<SourceKey, Change>> chunk) throws IOException {
        List<String> commands = new ArrayList<>(2 * chunk.size());
        for (Map.Entry<SourceKey, Change> e : chunk) {
            commands.add("del acl " + config.acl() + " " + e.getKey());
            if (e.getValue() == Change.ADD) {
                commands.add("add acl " + config.acl() + " " + e.getKey());
            }
        }
        List<List<String>> answers = api.run(commands);
        int a = 0;
        for (Map.Entry<SourceKey, Change> e : chunk) {
            String del = refusal(answers.get(a++));
            if (del != null && del.startsWith(UNKNOWN_ACL)) {
                throw new IOException("HAProxy does not know ACL " + config.acl() + " (reloading?): " + printable(del));
            }
            String refused = e.getValue() == Change.ADD ? refusal(answers.get(a++)) : null;
            if (refused != null) {
                String m = "add acl " + config.acl() + " " + e.getKey() + " refused: " + printable(refused);
                LOG.warn("HAProxy bridge: {}", m);
                health.error(m);
            } else {
                health.applied(1);
            }
        }
    }

    /** The answer's text if HAProxy refused the command (a "Key not found." for a del is no refusal), else null. */
    private static String refusal(List<String> answer) {
        if (answer.isEmpty() || answer.get(0).startsWith("Key not found")) {
            return null;
        }
        return String.join(" ", answer);
    }

    @Override
    protected void reconcile() throws IOException {
        List<String> listing = api.run(List.of("show acl " + config.acl())).get(0);
        String refused = refusal(listing);
        if (refused != null && refused.startsWith(UNKNOWN_ACL)) {
            throw new IOException("show acl " + config.acl() + ": " + printable(refused));
        }
        reconcileWith(listing);
    }

    /**
     * Brings the ACL in line with the active bans: {@code show acl} lists one {@code <ref> <value>}
     * per line. Entries that are no active ban (an unban HAProxy missed while it was away) go.
     */
    private void reconcileWith(List<String> listing) throws IOException {
        Set<String> present = new HashSet<>();
        Set<String> extra = new LinkedHashSet<>();
        for (String line : listing) {
            String[] f = line.strip().split("\\s+");
            if (f.length != 2 || !f[0].startsWith("0x")) {
                continue; // not an entry line (an error text is handled by the callers)
            }
            present.add(normal(f[1]));
            extra.add(f[1]);
        }
        List<String> commands = new ArrayList<>();
        Set<String> wanted = new HashSet<>();
        for (BanRecord b : activeBans.get()) {
            String k = b.key().toString();
            wanted.add(k);
            if (!present.contains(k)) {
                commands.add("add acl " + config.acl() + " " + k);
            }
        }
        int added = commands.size();
        for (String v : extra) {
            if (!wanted.contains(normal(v)) && v.matches("[0-9A-Fa-f:./]{1,60}")) {
                commands.add("del acl " + config.acl() + " " + v);
            }
        }
        for (int i = 0; i < commands.size(); i += PER_REQUEST) {
            List<String> chunk = commands.subList(i, Math.min(commands.size(), i + PER_REQUEST));
            List<List<String>> answers = api.run(chunk);
            for (int j = 0; j < chunk.size(); j++) {
                String r = refusal(answers.get(j));
                if (r != null) {
                    health.error(chunk.get(j) + " refused: " + printable(r));
                } else {
                    health.applied(1);
                }
            }
        }
        if (!commands.isEmpty()) {
            LOG.info("HAProxy bridge: reconciled acl {}: {} added, {} removed", config.acl(), added,
                    commands.size() - added);
        }
    }

    /** An ACL value as tlsjail prints the same prefix, so {@code 10.0.0.5/32} and {@code 10.0.0.5} compare equal. */
    private static String normal(String value) {
        try {
            return SourceKey.parse(value).toString();
        } catch (IllegalArgumentException e) {
            return value;
        }
    }

    /** HAProxy's answers go into logs and status: printable ASCII, bounded. */
    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && sb.length() < 200; i++) {
            char c = s.charAt(i);
            sb.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return sb.toString();
    }
}
