package org.tlsjail.cluster;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.SslOptions;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.protocol.RedisCommand;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import java.net.InetAddress;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.BanListener;
import org.tlsjail.banengine.BanRecord;
import org.tlsjail.banengine.FailureListener;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.banengine.SourceKey;

/**
 * One node of a tlsjail cluster: feeds the local ban engine from Redis and Redis from the engine.
 *
 * <p>The engine stays the one answer at accept; this class never sits on that path. Failures
 * are handed to a bounded queue (dropped, and only counted locally, when it is full) and sent by
 * the writer thread into a shared sliding window (a Lua script per failure); the node whose
 * failure completes the window bans, and every ban or manual unban made here is announced on a
 * Redis stream. The reader thread follows that stream with {@code XREAD BLOCK} and applies the
 * other nodes' decisions to the engine, marked so they are not announced back.
 *
 * <p>Redis down or slow: requests fail fast (commands are rejected while disconnected, and every
 * request has a timeout), the node says so once in the log and keeps counting and banning alone
 * with the same thresholds. Bans and unbans made meanwhile wait in a small outbox. When Redis is
 * back the node merges both ways: it pushes its outbox and active bans (Redis orders each ban and
 * unban against the others by decision time), then takes the whole ban set, and follows the
 * stream from where that snapshot began. A node starting up does the same before it serves.
 */
public final class ClusterNode implements BanListener, FailureListener, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterNode.class);
    private static final int QUEUE_CAPACITY = 16_384;
    private static final int MAX_OUTBOX = 100_000;
    private static final int BATCH = 256;
    private static final long BLOCK_MILLIS = 1000;
    private static final long HEARTBEAT_MILLIS = 2000;
    private static final long NODE_SEEN_MILLIS = 15_000;
    // Scripts run by their SHA (loaded at every merge, so also after a Redis restart): sending the
    // text with each failure cost a third of the throughput.
    private static final String FAILURE_SHA = sha1(Scripts.FAILURE);
    private static final String BAN_SHA = sha1(Scripts.BAN);
    private static final String UNBAN_SHA = sha1(Scripts.UNBAN);
    private static final String NEWEST_ID_SHA = sha1(Scripts.NEWEST_ID);
    private static final String COUNT_AFTER_SHA = sha1(Scripts.COUNT_AFTER);
    private static final String BANS_BOUNDED_SHA = sha1(Scripts.BANS_BOUNDED);
    private static final String NODES_BOUNDED_SHA = sha1(Scripts.NODES_BOUNDED);
    private static final Duration MIN_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    static final long TOMBSTONE_RETENTION_MILLIS = Duration.ofDays(7).toMillis();

    private sealed interface Op permits Failure, Ban, Unban {
    }

    private record Failure(SourceKey key, int weight, long at) implements Op {
    }

    private record Ban(BanRecord record, String node) implements Op {
    }

    private record Unban(SourceKey key, long at) implements Op {
    }

    private final ClusterSettings settings;
    private final BanEngine engine;
    private final InstantSource clock;
    private final ClusterKeys keys;
    private final LongConsumer lagObserver;
    private final ClientResources resources;
    private final RedisClient client;
    private final String redisName;
    private final BlockingQueue<Op> queue = new ArrayBlockingQueue<>(QUEUE_CAPACITY);
    /** Latest pending ban or unban per key while Redis is away (guarded by itself). */
    private final Map<SourceKey, Op> outbox = new LinkedHashMap<>();
    /** The node that decided each ban in force here (bounded by the engine's bans: removed on unban). */
    private final Map<SourceKey, String> origins = new ConcurrentHashMap<>();
    /** Set while this node applies a decision read from Redis, so its own listener does not echo it. */
    private final ThreadLocal<Boolean> applying = ThreadLocal.withInitial(() -> Boolean.FALSE);
    private final AtomicLong failureSeq = new AtomicLong();

    private final LongAdder eventsIn = new LongAdder();
    private final LongAdder eventsOut = new LongAdder();
    private final LongAdder invalid = new LongAdder();
    private final LongAdder redisErrors = new LongAdder();
    private final LongAdder failuresSent = new LongAdder();
    private final LongAdder failuresLocal = new LongAdder();

    private volatile StatefulRedisConnection<String, String> writer;
    private volatile StatefulRedisConnection<String, String> reader;
    private volatile boolean connected;
    private volatile boolean running = true;
    private volatile String lastError;
    private volatile String lastId = "0-0";
    private volatile List<String> nodesSeen = List.of();
    private volatile long behind = -1;
    private volatile long lastHeartbeat;
    private boolean outageLogged; // reader thread only
    private final Thread writerThread;
    private final Thread readerThread;

    private ClusterNode(ClusterSettings settings, BanEngine engine, InstantSource clock, LongConsumer lagObserver) {
        this.settings = settings;
        this.engine = engine;
        this.clock = clock;
        this.lagObserver = lagObserver;
        this.keys = new ClusterKeys(settings.prefix());
        this.resources = ClientResources.builder().ioThreadPoolSize(2).computationThreadPoolSize(2)
                .reconnectDelay(Delay.exponential(Duration.ofMillis(50), Duration.ofSeconds(1), 2, TimeUnit.MILLISECONDS))
                .build();
        RedisURI uri = RedisURI.create(settings.uri());
        if (settings.password() != null) {
            if (settings.username() != null) {
                uri.setAuthentication(settings.username(), settings.password());
            } else {
                uri.setAuthentication(settings.password());
            }
        }
        // Connecting (TCP, TLS, AUTH, HELLO) at a cold JVM start takes longer than a request;
        // it only ever runs on the cluster's own threads (and once at start-up).
        Duration connectTimeout = settings.timeout().compareTo(MIN_CONNECT_TIMEOUT) < 0 ? MIN_CONNECT_TIMEOUT : settings.timeout();
        uri.setTimeout(connectTimeout);
        this.redisName = describe(uri);
        this.client = RedisClient.create(resources, uri);
        long timeoutNanos = settings.timeout().toNanos();
        long xreadTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(BLOCK_MILLIS) + connectTimeout.toNanos();
        ClientOptions.Builder options = ClientOptions.builder()
                .autoReconnect(true)
                // Never queue while disconnected: a request fails at once and the node works alone.
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .socketOptions(SocketOptions.builder().connectTimeout(connectTimeout).build())
                .timeoutOptions(TimeoutOptions.builder().timeoutSource(new TimeoutOptions.TimeoutSource() {
                    @Override
                    public long getTimeout(RedisCommand<?, ?, ?> command) {
                        // XREAD BLOCK waits by design, and a late answer only delays events (the writer's
                        // requests, bounded by cluster.timeout, detect a slow Redis): a busy host's
                        // scheduling hiccup must not make the node drop out and merge again
                        return command.getType() == CommandType.XREAD ? xreadTimeoutNanos : timeoutNanos;
                    }

                    @Override
                    public TimeUnit getTimeUnit() {
                        return TimeUnit.NANOSECONDS;
                    }
                }).build());
        if (uri.isSsl() && settings.caFile() != null) {
            options.sslOptions(SslOptions.builder().jdkSslProvider().trustManager(settings.caFile().toFile()).build());
        }
        client.setOptions(options.build());
        this.writerThread = new Thread(this::writeLoop, "tlsjail-cluster-writer");
        this.readerThread = new Thread(this::readLoop, "tlsjail-cluster-reader");
        writerThread.setDaemon(true);
        readerThread.setDaemon(true);
    }

    /**
     * Joins the cluster: connects, merges with Redis (so a restarted node refuses a source banned
     * by the cluster before it serves), and starts following it. Redis unreachable is not an
     * error (the node starts alone and keeps trying); Redis refusing the credentials is.
     *
     * @param lagObserver told the propagation lag (ms, decision on another node to applied here)
     */
    public static ClusterNode start(ClusterSettings settings, BanEngine engine, InstantSource clock,
                                    LongConsumer lagObserver) throws ClusterStartException {
        ClusterNode n = new ClusterNode(settings, engine, clock, lagObserver);
        try {
            n.connect();
            n.sync();
            n.connected = true;
            LOG.info("cluster: node {} joined via Redis {} (prefix {})", settings.nodeName(), n.redisName, settings.prefix());
        } catch (RuntimeException e) {
            if (isCredentialError(e)) {
                n.shutdown();
                throw new ClusterStartException("cluster: Redis " + n.redisName + " refused the credentials ("
                        + message(e) + "); check cluster.username and cluster.password-file", e);
            }
            n.noteError(e);
            n.logOutage(e);
        }
        engine.addListener(n);
        engine.addFailureListener(n);
        n.writerThread.start();
        n.readerThread.start();
        return n;
    }

    // ---------------------------------------------------------------- engine side (never blocks)

    @Override
    public void onFailure(SourceKey key, int weight, long atMillis) {
        if (!connected || !queue.offer(new Failure(key, weight, atMillis))) {
            failuresLocal.add(weight);
        }
    }

    @Override
    public void onBan(BanRecord ban) {
        if (applying.get()) {
            return;
        }
        origins.put(ban.key(), settings.nodeName());
        Ban op = new Ban(ban, settings.nodeName());
        if (!queue.offer(op)) {
            park(op);
        }
    }

    @Override
    public void onUnban(BanRecord ban, UnbanCause cause) {
        origins.remove(ban.key());
        if (applying.get() || cause != UnbanCause.MANUAL) {
            return; // expiry happens on every node by itself; a dropped ban is a local capacity matter
        }
        Unban op = new Unban(ban.key(), clock.millis());
        if (!queue.offer(op)) {
            park(op);
        }
    }

    /** The node that decided the ban in force on {@code key}, or null. */
    public String originOf(SourceKey key) {
        return origins.get(key);
    }

    public String nodeName() {
        return settings.nodeName();
    }

    public ClusterStatus status() {
        int pending;
        synchronized (outbox) {
            pending = outbox.size();
        }
        return new ClusterStatus(settings.nodeName(), redisName, connected, nodesSeen, behind, lastError,
                eventsIn.sum(), eventsOut.sum(), invalid.sum(), redisErrors.sum(), failuresSent.sum(),
                failuresLocal.sum(), pending + queue.size());
    }

    // ---------------------------------------------------------------- writer thread

    private void writeLoop() {
        List<Op> batch = new ArrayList<>(BATCH);
        while (running) {
            try {
                Op first = queue.poll(500, TimeUnit.MILLISECONDS);
                if (first != null) {
                    batch.add(first);
                    queue.drainTo(batch, BATCH - 1);
                    send(batch);
                    batch.clear();
                }
                heartbeat();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.warn("cluster: writer error", e);
                batch.clear();
            }
        }
    }

    private void send(List<Op> batch) {
        StatefulRedisConnection<String, String> c = writer;
        if (!connected || c == null) {
            batch.forEach(this::keepForLater);
            return;
        }
        List<RedisFuture<Long>> futures = new ArrayList<>(batch.size());
        for (Op op : batch) {
            futures.add(submit(c, op));
        }
        for (int i = 0; i < batch.size(); i++) {
            Op op = batch.get(i);
            try {
                long r = futures.get(i).get(settings.timeout().toMillis() + 50, TimeUnit.MILLISECONDS);
                handleReply(op, r);
            } catch (ExecutionException | TimeoutException | RuntimeException e) {
                Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
                noteError(cause);
                keepForLater(op);
                if (!(cause instanceof RedisCommandExecutionException) || String.valueOf(cause.getMessage()).startsWith("NOSCRIPT")) {
                    connected = false; // the reader notices too, logs it once and resyncs
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private RedisFuture<Long> submit(StatefulRedisConnection<String, String> c, Op op) {
        long now = clock.millis();
        if (op instanceof Failure f) {
            JailConfig j = engine.config();
            String k = f.key().toString();
            return c.async().evalsha(FAILURE_SHA, ScriptOutputType.INTEGER, new String[] {keys.window(k), keys.bans},
                    Long.toString(f.at()), Long.toString(j.findTime().toMillis()), Integer.toString(j.maxRetry()),
                    settings.nodeName() + ':' + failureSeq.incrementAndGet(), Integer.toString(Math.min(f.weight(), 1000)), k);
        }
        if (op instanceof Ban b) {
            BanRecord r = b.record();
            return c.async().evalsha(BAN_SHA, ScriptOutputType.INTEGER,
                    new String[] {keys.bans, keys.meta, keys.tombstones, keys.events},
                    r.key().toString(), Long.toString(r.since().toEpochMilli()),
                    r.isPermanent() ? "-1" : Long.toString(r.until().toEpochMilli()), Integer.toString(r.banCount()),
                    b.node(), ClusterEvent.printable(r.reason() == null ? "" : r.reason()),
                    Integer.toString(settings.streamLength()), Long.toString(now), Long.toString(TOMBSTONE_RETENTION_MILLIS));
        }
        Unban u = (Unban) op;
        return c.async().evalsha(UNBAN_SHA, ScriptOutputType.INTEGER,
                new String[] {keys.bans, keys.meta, keys.tombstones, keys.events},
                u.key().toString(), Long.toString(u.at()), settings.nodeName(), Integer.toString(settings.streamLength()));
    }

    private void handleReply(Op op, long r) {
        if (op instanceof Failure f) {
            failuresSent.add(f.weight());
            if (r >= engine.config().maxRetry()) {
                banFromWindow(f.key());
            }
        } else if (op instanceof Ban b) {
            if (r == 1) {
                eventsOut.increment();
            } else if (r == -2) {
                // an unban decided later elsewhere (e.g. during an outage) wins over this ban
                applyRemoteUnban(b.record().key(), Long.MAX_VALUE);
            }
        } else if (r == 1) {
            eventsOut.increment();
        }
    }

    /** This node's failure completed the shared window: it bans, and the ban is announced as any other. */
    private void banFromWindow(SourceKey key) {
        InetAddress a = SourceKeys.firstAddress(key);
        if (engine.banOf(a) != null) {
            return;
        }
        try {
            engine.ban(a, null, "cluster: maxretry reached across nodes");
        } catch (IllegalArgumentException e) {
            LOG.debug("cluster: not banning {}: {}", key, e.getMessage());
        }
    }

    private void keepForLater(Op op) {
        if (op instanceof Failure f) {
            failuresLocal.add(f.weight());
        } else {
            park(op);
        }
    }

    private void park(Op op) {
        SourceKey key = op instanceof Ban b ? b.record().key() : ((Unban) op).key();
        synchronized (outbox) {
            outbox.remove(key);
            if (outbox.size() >= MAX_OUTBOX) {
                // the oldest pending decision gives way; a ban still in force is re-pushed at resync anyway
                outbox.remove(outbox.keySet().iterator().next());
            }
            outbox.put(key, op);
        }
    }

    private void heartbeat() {
        long now = clock.millis();
        if (!connected || now - lastHeartbeat < HEARTBEAT_MILLIS) {
            return;
        }
        lastHeartbeat = now;
        try {
            RedisCommands<String, String> r = writer.sync();
            r.zadd(keys.nodes, (double) now, settings.nodeName());
            r.zremrangebyscore(keys.nodes, Range.create(Double.NEGATIVE_INFINITY, (double) (now - 86_400_000L)));
            List<String> seen = new ArrayList<>();
            List<Object> names = r.evalsha(NODES_BOUNDED_SHA, ScriptOutputType.MULTI, new String[] {keys.nodes},
                    Long.toString(now - NODE_SEEN_MILLIS), "100", "64");
            for (Object o : names) {
                String n = text(o);
                if (n != null && ClusterSettings.NODE_NAME.matcher(n).matches()) {
                    seen.add(n);
                }
            }
            nodesSeen = List.copyOf(seen);
            Long after = r.evalsha(COUNT_AFTER_SHA, ScriptOutputType.INTEGER, new String[] {keys.events}, lastId, "1000");
            behind = after == null ? 0 : after;
        } catch (RuntimeException e) {
            noteError(e);
        }
    }

    // ---------------------------------------------------------------- reader thread

    private void readLoop() {
        long backoff = 100;
        while (running) {
            try {
                if (!connected) {
                    connect();
                    sync();
                    connected = true;
                    requeueParked();
                    backoff = 100;
                    if (outageLogged) {
                        LOG.warn("cluster: Redis {} reachable again; merged with the cluster, sharing bans again", redisName);
                        outageLogged = false;
                    }
                    continue;
                }
                List<StreamMessage<String, String>> messages = reader.sync().xread(
                        XReadArgs.Builder.block(BLOCK_MILLIS).count(500), XReadArgs.StreamOffset.from(keys.events, lastId));
                if (messages != null) {
                    for (StreamMessage<String, String> m : messages) {
                        lastId = m.getId();
                        apply(m.getBody());
                    }
                }
            } catch (RuntimeException e) {
                if (!running) {
                    return;
                }
                connected = false;
                noteError(e);
                logOutage(e);
                dropReader();
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException ie) {
                    return;
                }
                backoff = Math.min(backoff * 2, 2000);
            }
        }
    }

    /**
     * A failed read may leave its reply still arriving on the reader's connection (a planted
     * 500 MB entry takes longer than the read's deadline): every later XREAD would queue behind
     * it and time out too. A new connection starts clean.
     */
    private void dropReader() {
        StatefulRedisConnection<String, String> r = reader;
        reader = null;
        if (r != null) {
            r.closeAsync();
        }
    }

    /** Decisions parked while the merge ran (after its snapshot) go out now instead of at the next outage. */
    private void requeueParked() {
        List<Op> parked;
        synchronized (outbox) {
            parked = new ArrayList<>(outbox.values());
            outbox.clear();
        }
        for (Op op : parked) {
            if (!queue.offer(op)) {
                park(op);
            }
        }
    }

    private void logOutage(RuntimeException e) {
        if (!outageLogged) {
            outageLogged = true;
            LOG.warn("cluster: Redis {} unreachable ({}); counting and banning locally with the same thresholds, "
                    + "keeping the cluster bans known here until it is back", redisName, message(e));
        }
    }

    /** Applies one stream event. */
    private void apply(Map<String, String> body) {
        long now = clock.millis();
        ClusterEvent ev = ClusterEvent.parseStream(body, now);
        // a key of another prefix (0.0.0.0/0, a partner's /16) is no node's decision: the engine
        // would never match it at accept, but its bridges would drop everyone inside it
        if (ev == null || !engine.config().isBanUnit(ev.key())) {
            invalid.increment();
            return;
        }
        // Our own events are applied too (a no-op when they are in force here already): the stream
        // is the cluster's order, and after a merge another node's older ban may be replayed before
        // our newer unban, which must then win here as well.
        boolean own = ev.node().equals(settings.nodeName());
        if (!own) {
            eventsIn.increment();
        }
        if (ev.ban()) {
            if (applyRemoteBan(ev) && !own) {
                lagObserver.accept(Math.max(0, now - ev.since()));
            }
        } else {
            applyRemoteUnban(ev.key(), ev.since());
        }
    }

    private boolean applyRemoteBan(ClusterEvent ev) {
        applying.set(Boolean.TRUE);
        try {
            if (engine.applyBan(ev.record())) {
                origins.put(ev.key(), ev.node());
                return true;
            }
            return false;
        } finally {
            applying.set(Boolean.FALSE);
        }
    }

    /** Lifts the local ban unless it was decided after {@code at} (a newer ban not yet announced). */
    private void applyRemoteUnban(SourceKey key, long at) {
        BanRecord local = engine.banOf(SourceKeys.firstAddress(key));
        if (local == null || !local.key().equals(key) || local.since().toEpochMilli() > at) {
            return;
        }
        applying.set(Boolean.TRUE);
        try {
            engine.unban(key);
        } finally {
            applying.set(Boolean.FALSE);
        }
    }

    // ---------------------------------------------------------------- connect and merge

    private synchronized void connect() {
        if (writer == null) {
            writer = client.connect();
        }
        if (reader == null) {
            reader = client.connect();
        }
    }

    /**
     * Merges with Redis: pushes what waited here, re-announces the bans in force here (Redis keeps
     * the newer decision per source), applies Redis's ban set, and continues the stream from the
     * point the snapshot was taken (events after it are replayed; applying them twice is harmless).
     */
    private void sync() {
        RedisCommands<String, String> r = writer.sync();
        r.scriptLoad(Scripts.FAILURE);
        r.scriptLoad(Scripts.BAN);
        r.scriptLoad(Scripts.UNBAN);
        for (String script : List.of(Scripts.NEWEST_ID, Scripts.COUNT_AFTER, Scripts.BANS_BOUNDED, Scripts.NODES_BOUNDED)) {
            r.scriptLoad(script);
        }
        // the newest id, not the newest entry: that may be a 512 MB value planted to stall every merge
        String from = r.evalsha(NEWEST_ID_SHA, ScriptOutputType.VALUE, new String[] {keys.events});
        List<Op> pending;
        synchronized (outbox) {
            pending = new ArrayList<>(outbox.values());
        }
        List<Op> push = new ArrayList<>(pending);
        for (BanRecord b : engine.banned()) {
            String node = origins.getOrDefault(b.key(), settings.nodeName());
            push.add(new Ban(b, node));
        }
        StatefulRedisConnection<String, String> c = writer;
        for (int i = 0; i < push.size(); i += BATCH) {
            List<Op> chunk = push.subList(i, Math.min(push.size(), i + BATCH));
            List<RedisFuture<Long>> futures = new ArrayList<>();
            for (Op op : chunk) {
                futures.add(submit(c, op));
            }
            for (int j = 0; j < chunk.size(); j++) {
                handleReply(chunk.get(j), await(futures.get(j)));
            }
        }
        synchronized (outbox) {
            pending.forEach(op -> outbox.remove(op instanceof Ban b ? b.record().key() : ((Unban) op).key(), op));
        }
        long now = clock.millis();
        List<Object> bans = r.evalsha(BANS_BOUNDED_SHA, ScriptOutputType.MULTI, new String[] {keys.bans, keys.meta},
                Long.toString(now), Integer.toString(engine.config().maxBans()), Integer.toString(ClusterEvent.MAX_KEY),
                Integer.toString(ClusterEvent.MAX_INFO));
        int applied = 0;
        for (int i = 0; i + 1 < bans.size(); i += 2) {
            ClusterEvent ev = ClusterEvent.parseBanInfo(text(bans.get(i)), text(bans.get(i + 1)), now);
            if (ev == null || !engine.config().isBanUnit(ev.key())) {
                invalid.increment();
            } else if (applyRemoteBan(ev)) {
                applied++;
            }
        }
        lastId = from;
        if (applied > 0 || !pending.isEmpty()) {
            LOG.info("cluster: merged with Redis: {} pending decision(s) pushed, {} ban(s) taken from the cluster",
                    pending.size(), applied);
        }
    }

    private long await(RedisFuture<Long> f) {
        try {
            Long v = f.get(settings.timeout().toMillis() + 50, TimeUnit.MILLISECONDS);
            return v == null ? 0 : v;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RedisCommandExecutionException rce) {
                noteError(rce); // e.g. a key of the wrong type planted under the prefix: skip that one
                return 0;
            }
            throw new IllegalStateException(message(e.getCause()), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("Redis did not answer within " + settings.timeout().toMillis() + " ms", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private void noteError(Throwable e) {
        redisErrors.increment();
        lastError = message(e);
    }

    /** A string from a script's reply (bulk strings arrive as String with this codec), or null. */
    private static String text(Object o) {
        return o instanceof String t && !t.isEmpty() ? t : null;
    }

    static String message(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            if (t instanceof RedisCommandExecutionException) {
                break;
            }
            t = t.getCause();
        }
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return ClusterEvent.printable(m.length() > 200 ? m.substring(0, 200) : m);
    }

    private static String sha1(String script) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-1")
                    .digest(script.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean isCredentialError(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String m = String.valueOf(t.getMessage());
            if (m.contains("WRONGPASS") || m.contains("NOAUTH") || m.contains("NOPERM")
                    || m.contains("invalid username-password") || m.contains("invalid password")) {
                return true;
            }
        }
        return false;
    }

    /** host:port (or the sentinels) without any credentials. */
    private static String describe(RedisURI uri) {
        if (!uri.getSentinels().isEmpty()) {
            StringBuilder sb = new StringBuilder("sentinel ");
            for (RedisURI s : uri.getSentinels()) {
                sb.append(s.getHost()).append(':').append(s.getPort()).append(' ');
            }
            return sb.append("master ").append(uri.getSentinelMasterId()).toString();
        }
        return (uri.isSsl() ? "rediss://" : "redis://") + uri.getHost() + ":" + uri.getPort();
    }

    @Override
    public void close() {
        engine.removeFailureListener(this);
        engine.removeListener(this);
        shutdown();
    }

    private void shutdown() {
        running = false;
        writerThread.interrupt();
        readerThread.interrupt();
        try {
            writerThread.join(2000);
            readerThread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        } catch (RuntimeException e) {
            LOG.debug("cluster: shutdown", e);
        }
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }
}
