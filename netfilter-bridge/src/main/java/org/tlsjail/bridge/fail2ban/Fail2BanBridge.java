package org.tlsjail.bridge.fail2ban;

import java.io.IOException;
import java.net.InetAddress;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsjail.banengine.Addresses;
import org.tlsjail.banengine.BanRecord;
import org.tlsjail.banengine.SourceKey;
import org.tlsjail.bridge.BridgeStartException;
import org.tlsjail.bridge.BridgeStatus;
import org.tlsjail.bridge.QueuedBridge;

/**
 * Mirrors tlsjail's bans into a running Fail2Ban server's jail over its unix socket
 * ({@link Fail2BanMode#BANIP}), or reports each failed handshake to it ({@link Fail2BanMode#ATTEMPT}).
 *
 * <p>Engine callbacks and {@link #onFailure} only enqueue (coalesced per address, bounded); one
 * thread of its own talks to the server. When the server is down or misbehaves the changes stay
 * queued and the thread retries with exponential backoff; after every (re)connect, and every
 * {@code reconcile-interval}, it makes sure each active tlsjail ban is in the jail (banip mode).
 */
public final class Fail2BanBridge extends QueuedBridge<String, Fail2BanBridge.Change> {
    private static final Logger LOG = LoggerFactory.getLogger(Fail2BanBridge.class);
    private static final int BATCH = 256;
    /** Addresses per reconciling {@code banip} command. */
    private static final int RECONCILE_CHUNK = 100;
    /** More queued attempts for one address than this add nothing: the jail has banned it by then. */
    private static final int MAX_ATTEMPTS_PER_ADDRESS = 100;

    /** A queued change for one address. */
    sealed interface Change permits Ban, Unban, Attempts {
    }

    record Ban() implements Change {
    }

    record Unban() implements Change {
    }

    record Attempts(int count, String reason) implements Change {
    }

    private final Fail2BanBridgeConfig config;
    private final Supplier<List<BanRecord>> activeBans;
    private final Predicate<SourceKey> operatorUnban;
    private final InstantSource clock;
    /**
     * When Fail2Ban itself would end each of our bans in its jail (epoch ms; MAX_VALUE for
     * permanent), from its {@code --with-time} listing or from our own banip and the jail's
     * bantime. Bridge thread only; forgotten on reconnect (a restarted server lost its bans).
     */
    private final Map<String, Long> jailEnds = new HashMap<>();
    private Fail2BanConnection connection; // owned by the bridge thread once started
    /** Attempts of the change being sent that the server already has (bridge thread only). */
    private int attemptsSent;

    /**
     * @param config     the {@code bridge.fail2ban} settings
     * @param activeBans the engine's active bans ({@code engine::banned}), read on the bridge's
     *                   thread for reconciliation
     * @param clock      time for status timestamps
     */
    public Fail2BanBridge(Fail2BanBridgeConfig config, Supplier<List<BanRecord>> activeBans, InstantSource clock) {
        this(config, activeBans, key -> false, clock);
    }

    /**
     * @param operatorUnban lifts a tlsjail ban ({@code engine::unban}) when an operator lifted it
     *                      in Fail2Ban ({@code fail2ban-client set JAIL unbanip}); see {@link #reconcile()}
     */
    public Fail2BanBridge(Fail2BanBridgeConfig config, Supplier<List<BanRecord>> activeBans,
                          Predicate<SourceKey> operatorUnban, InstantSource clock) {
        super(Objects.requireNonNull(config, "config").queue(), BATCH, clock);
        this.config = config;
        this.activeBans = Objects.requireNonNull(activeBans, "activeBans");
        this.operatorUnban = Objects.requireNonNull(operatorUnban, "operatorUnban");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public Fail2BanBridgeConfig config() {
        return config;
    }

    // ---------------------------------------------------------------- lifecycle

    @Override
    protected String kind() {
        return "Fail2Ban";
    }

    @Override
    protected String threadName() {
        return "fail2ban-" + config.jail();
    }

    @Override
    protected boolean reconciles() {
        return config.mode() == Fail2BanMode.BANIP;
    }

    @Override
    protected void open() {
        Fail2BanConnection c;
        try {
            c = Fail2BanConnection.open(config.socket(), config.queue().timeout());
        } catch (IOException | RuntimeException e) {
            throw new BridgeStartException("bridge.fail2ban.socket: cannot connect to Fail2Ban at "
                    + config.socket() + ": " + describe(e) + " (is fail2ban-server running, and may this"
                    + " user open its socket? It is root-only by default)", e);
        }
        try {
            ping(c);
            checkJail(c);
        } catch (IOException e) {
            c.close();
            throw new BridgeStartException("bridge.fail2ban.socket: Fail2Ban at " + config.socket()
                    + " did not answer: " + describe(e), e);
        } catch (BridgeStartException e) {
            c.close();
            throw e;
        }
        connection = c;
        if (reconciles()) {
            requestReconcile();
        }
        LOG.info("Fail2Ban bridge started: jail {} at {}, mode {}", config.jail(), config.socket(),
                config.mode().yamlName());
    }

    private void ping(Fail2BanConnection c) throws IOException {
        Fail2BanReply r = c.send(List.of("ping"));
        if (!r.isOk() || !"pong".equals(r.value())) {
            throw new IOException("ping answered " + r + " instead of pong");
        }
    }

    private void checkJail(Fail2BanConnection c) throws IOException {
        Fail2BanReply r = c.send(List.of("status", config.jail()));
        if (!r.isOk()) {
            throw new BridgeStartException("bridge.fail2ban.jail: Fail2Ban at " + config.socket()
                    + " has no usable jail '" + config.jail() + "' (" + r.message() + "); add the jail to its"
                    + " configuration or set bridge.fail2ban.jail to an existing one");
        }
    }

    @Override
    protected void released(boolean started, boolean threadEnded) {
        if (connection != null && threadEnded) {
            connection.close();
            connection = null;
        }
    }

    @Override
    public BridgeStatus status() {
        return health.snapshot("fail2ban jail " + config.jail() + " at " + config.socket() + " ("
                + config.mode().yamlName() + ")", pending.size(), pending.dropped());
    }

    // ---------------------------------------------------------------- events (engine lock held)

    @Override
    public void onBan(BanRecord ban) {
        if (config.mode() == Fail2BanMode.BANIP) {
            pending.offer(ban.key().toString(), new Ban(), (old, now) -> now);
        }
    }

    @Override
    public void onUnban(BanRecord ban, UnbanCause cause) {
        // In attempt mode Fail2Ban owns its bans, but an operator's unban must lift them there too.
        if (config.mode() == Fail2BanMode.BANIP || cause == UnbanCause.MANUAL) {
            pending.offer(ban.key().toString(), new Unban(), (old, now) -> now);
        }
    }

    /**
     * Reports one failed handshake of {@code source} (attempt mode; ignored in banip mode, where
     * the engine decides). Call it once per failure, from any thread; it never blocks.
     *
     * @param reason a short description; reduced to a safe character set before it is sent
     */
    @Override
    public void onFailure(InetAddress source, String reason) {
        if (config.mode() != Fail2BanMode.ATTEMPT || source == null) {
            return;
        }
        pending.offer(Addresses.format(source), new Attempts(1, safeReason(reason)),
                (old, now) -> old instanceof Attempts a
                        ? new Attempts(Math.min(MAX_ATTEMPTS_PER_ADDRESS, a.count() + 1), ((Attempts) now).reason())
                        : now);
    }

    /**
     * The reason ends up in Fail2Ban's ticket as the "matched line" and from there in actions
     * (mails, shell commands): only letters, digits and plain punctuation survive.
     */
    static String safeReason(String reason) {
        if (reason == null || reason.isBlank()) {
            return "tlsjail failure";
        }
        String s = reason.replaceAll("[^A-Za-z0-9 .,:_+/-]", "_").strip();
        return s.length() > 200 ? s.substring(0, 200) : s;
    }

    // ---------------------------------------------------------------- bridge thread

    @Override
    protected boolean connectIfNeeded() throws IOException {
        if (connection != null) {
            return false;
        }
        connect();
        return true;
    }

    @Override
    protected void failed(IOException e, long retryInMillis) {
        lose(e);
    }

    @Override
    protected void loopEnded() {
        if (connection != null) {
            connection.close();
            connection = null;
        }
    }

    private void connect() throws IOException {
        Fail2BanConnection c = Fail2BanConnection.open(config.socket(), config.queue().timeout());
        try {
            ping(c);
            // a server that is starting or reloading answers ping before its jails exist
            Fail2BanReply jail = c.send(List.of("status", config.jail()));
            if (!jail.isOk()) {
                throw new IOException("jail " + config.jail() + " not available: " + jail.message());
            }
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
        connection = c;
        jailEnds.clear(); // another server, or the same restarted: what it held before says nothing now
        health.connected(true);
        if (reconciles()) {
            requestReconcile();
        }
        LOG.info("Fail2Ban bridge: connected to {}", config.socket());
    }

    private void lose(IOException e) {
        if (health.isConnected()) {
            LOG.warn("Fail2Ban bridge: lost {} ({}); retrying with backoff, changes stay queued",
                    config.socket(), describe(e));
        }
        health.error(describe(e));
        health.connected(false);
        if (connection != null) {
            connection.close();
            connection = null;
        }
    }

    /** Sends each change; on a transport failure puts back what was not sent and rethrows. */
    @Override
    protected void apply(List<Map.Entry<String, Change>> batch) throws IOException {
        for (int i = 0; i < batch.size(); i++) {
            Map.Entry<String, Change> e = batch.get(i);
            attemptsSent = 0;
            try {
                applyOne(e.getKey(), e.getValue());
            } catch (IOException | RuntimeException ex) {
                List<Map.Entry<String, Change>> rest = new ArrayList<>(batch.subList(i, batch.size()));
                if (e.getValue() instanceof Attempts a && attemptsSent > 0) {
                    // the server has counted these already: resend only the rest
                    rest.set(0, Map.entry(e.getKey(), new Attempts(a.count() - attemptsSent, a.reason())));
                }
                pending.putBack(rest, Fail2BanBridge::mergePutBack);
                throw ex;
            }
        }
    }

    /**
     * A change that failed to reach the server meets one queued for the same address meanwhile.
     * Ban and unban: the newer one states the wanted end state. Attempts: the server has counted
     * neither batch, so both counts go out (the newer reason is kept).
     */
    static Change mergePutBack(Change putBack, Change queued) {
        if (putBack instanceof Attempts a && queued instanceof Attempts b) {
            return new Attempts(Math.min(MAX_ATTEMPTS_PER_ADDRESS, a.count() + b.count()), b.reason());
        }
        return queued;
    }

    private void applyOne(String address, Change change) throws IOException {
        String jail = config.jail();
        if (change instanceof Attempts a) {
            for (int n = 0; n < a.count(); n++) {
                Fail2BanReply r = connection.send(List.of("set", jail, "attempt", address, a.reason()));
                attemptsSent++;
                if (!check(r, "attempt", address)) {
                    return;
                }
            }
            health.applied(1);
        } else {
            String verb = change instanceof Ban ? "banip" : "unbanip";
            Fail2BanReply r = connection.send(List.of("set", jail, verb, address));
            if (check(r, verb, address)) {
                health.applied(1);
                if (change instanceof Ban && r.value() instanceof Number n && n.intValue() == 1) {
                    freshlyBanned(List.of(address)); // 1: a new ban in the jail, from now on
                }
            }
            if (change instanceof Unban) {
                jailEnds.remove(address);
            }
        }
    }

    /**
     * True if the server accepted the command. A refused command (an exception, a protocol error)
     * is recorded and dropped: sending it again would be refused again. Two failures are retried
     * instead (IOException: the change is put back, the connection dropped): a reply that is not
     * Fail2Ban's format, and an unknown jail, which is what a reloading server says.
     */
    private boolean check(Fail2BanReply r, String verb, String address) throws IOException {
        switch (r.kind()) {
            case OK:
                return true;
            case GARBAGE:
                throw new IOException(verb + " " + address + ": " + r.message());
            case FAILED:
                if (r.message().contains("UnknownJailException")) {
                    // the jail is gone for the moment (Fail2Ban reloading): keep the change and retry
                    throw new IOException(verb + " " + address + ": " + r.message());
                }
                health.error(verb + " " + address + ": " + r.message());
                LOG.warn("Fail2Ban bridge: {} {} refused: {}", verb, address, r.message());
                return false;
            default:
                health.error(verb + " " + address + ": " + r.message());
                LOG.warn("Fail2Ban bridge: {} {} refused: {}", verb, address, r.message());
                return false;
        }
    }

    /**
     * Makes sure every active tlsjail ban is in the jail (it may have expired there, or the server
     * restarted), except one an operator lifted in Fail2Ban: a ban missing from the jail before
     * the end Fail2Ban itself would have given it ({@code get JAIL banip --with-time}, or our own
     * banip plus {@code get JAIL bantime}) was unbanned there ({@code fail2ban-client set JAIL
     * unbanip}, or an action), so it is lifted in tlsjail too instead of being put back.
     */
    @Override
    protected void reconcile() throws IOException {
        String jail = config.jail();
        Fail2BanReply r = connection.send(List.of("get", jail, "banip", "--with-time"));
        boolean withTime = r.isOk();
        if (!withTime) {
            r = connection.send(List.of("get", jail, "banned")); // a Fail2Ban without --with-time
        }
        if (r.kind() == Fail2BanReply.Kind.GARBAGE
                || (r.kind() == Fail2BanReply.Kind.FAILED && r.message().contains("UnknownJailException"))) {
            throw new IOException("get " + jail + " banned: " + r.message());
        }
        if (!r.isOk()) {
            health.error("reconcile: get " + jail + " banned: " + r.message());
            return;
        }
        Set<String> inJail = new HashSet<>();
        List<Object> entries = new ArrayList<>();
        if (r.value() instanceof Collection<?> c) {
            entries.addAll(c);
        } else if (r.value() instanceof Object[] a) {
            entries.addAll(List.of(a));
        }
        for (Object x : entries) {
            String entry = String.valueOf(x);
            String ip = entry.strip().split("\\s+", 2)[0];
            inJail.add(ip);
            if (withTime) {
                Long end = JailListing.endMillis(entry);
                if (end != null) {
                    jailEnds.put(ip, end);
                }
            }
        }
        long now = clock.millis();
        List<String> missing = new ArrayList<>();
        Set<String> active = new HashSet<>();
        int lifted = 0;
        for (BanRecord b : activeBans.get()) {
            String k = b.key().toString();
            active.add(k);
            if (inJail.contains(k)) {
                continue;
            }
            Long end = jailEnds.remove(k);
            // 2 s: Fail2Ban prints its times to the second and checks expiry on its own tick
            if (end != null && now < end - 2_000) {
                if (operatorUnban.test(b.key())) {
                    lifted++;
                    LOG.info("Fail2Ban bridge: {} was unbanned in jail {} before its ban there ended; lifted in"
                            + " tlsjail too", k, jail);
                }
                continue;
            }
            missing.add(k);
        }
        jailEnds.keySet().retainAll(active);
        for (int i = 0; i < missing.size(); i += RECONCILE_CHUNK) {
            List<String> chunk = missing.subList(i, Math.min(missing.size(), i + RECONCILE_CHUNK));
            List<String> cmd = new ArrayList<>(chunk.size() + 3);
            cmd.add("set");
            cmd.add(jail);
            cmd.add("banip");
            cmd.addAll(chunk);
            if (check(connection.send(cmd), "banip", chunk.size() + " missing addresses")) {
                health.applied(chunk.size());
                freshlyBanned(chunk);
            }
        }
        if (!missing.isEmpty()) {
            LOG.info("Fail2Ban bridge: reconciled {} ban(s) missing from jail {}", missing.size(), jail);
        }
        if (lifted > 0) {
            health.applied(lifted);
        }
    }

    /** {@code addresses} were banned in the jail just now: Fail2Ban ends them a bantime later. */
    private void freshlyBanned(List<String> addresses) throws IOException {
        Fail2BanReply r = connection.send(List.of("get", config.jail(), "bantime"));
        if (!r.isOk() || !(r.value() instanceof Number n)) {
            return; // unknown: such a ban missing later is put back, as before
        }
        long seconds = n.longValue();
        long end = seconds < 0 ? Long.MAX_VALUE : clock.millis() + seconds * 1000;
        for (String a : addresses) {
            jailEnds.merge(a, end, Math::max);
        }
    }

}
