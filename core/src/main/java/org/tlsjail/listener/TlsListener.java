package org.tlsjail.listener;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsjail.banengine.Addresses;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.FailureOutcome;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.banengine.SourceKey;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import org.tlsjail.tls.ClientAuth;
import org.tlsjail.tls.ServerTls;

/**
 * The TLS listener. The accept thread asks the ban engine about each source before any TLS object
 * exists and resets banned sources at once; handshakes run on a bounded pool; a handshake times
 * out when the client has kept the server waiting for its bytes for the handshake timeout (its
 * fault, counted), or when it has taken twice that in all (the server was the slow side, not
 * counted); each failure is classified (OpenSSL code and reason), fed to the engine with its
 * weight, and passed to the observers (the Fail2Ban log is one); each success goes to the
 * {@link ConnectionHandler}.
 *
 * <pre>{@code
 * TlsListener listener = TlsListener.builder(ServerTls.load(settings, clock), engine, handler)
 *         .config(ListenerConfig.builder().bind(new InetSocketAddress(6619)).build())
 *         .observer(fail2banLog)
 *         .build()
 *         .start();
 * }</pre>
 */
public final class TlsListener implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TlsListener.class);
    /** Handshake threads allowed beyond max-handshakes-total: threads between a slot's release and idling. */
    private static final int HANDSHAKE_THREAD_SLACK = 16;
    /** Known partners remembered at most (each entry about 100 bytes). */
    private static final int PROVEN_MAX = 100_000;
    /**
     * Handshake threads block in BC's handshake code only (a few hundred frames, measured well
     * under 256 kB); a small stack keeps thousands of them cheap in address space and RSS.
     */
    private static final long HANDSHAKE_STACK_BYTES = 512 * 1024;

    private final BanEngine engine;
    private final ConnectionHandler handler;
    private final ListenerConfig config;
    private final List<HandshakeObserver> observers;
    /** The observers as an array: the refusal path iterates it without an iterator object. */
    private final HandshakeObserver[] refusalObservers;
    private final InstantSource clock;
    /**
     * Monotonic nanoseconds for every duration the listener judges (the client's handshake time,
     * the gate's deadlines, the partner and uncounted-flight windows): System.nanoTime unless a
     * test injects one it advances.
     */
    private final LongSupplier ticker;
    /** Injected by a test (it then fires the timers itself), else created at start and owned. */
    private final ScheduledExecutorService injectedScheduler;
    private final ExecutorService applicationExecutor;
    private final boolean ownsApplicationExecutor;
    private final SourceAdmission admission;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();

    private volatile ServerTls tls;
    private volatile boolean running;
    private ServerSocketChannel server;
    private FirstFlightGate gate;
    private Thread acceptThread;
    private ThreadPoolExecutor handshakes;
    /** Handshake-timeout watchdog, refusal summary and the gate's deadline tick. */
    private ScheduledExecutorService watchdog;
    private final List<ScheduledFuture<?>> periodic = new ArrayList<>();

    /** Ban units with a successful handshake within partner-window: known partners. */
    private final Cache<SourceKey, Boolean> proven;
    /**
     * Server flights of sources (not partners) whose handshake ran out of time on the server's
     * side: not their failure, but still one of their maxretry tries in the window (findtime at
     * start, counted from the first), so a flood that slows the server buys no extra flights.
     */
    private final Cache<SourceKey, java.util.concurrent.atomic.AtomicInteger> uncountedFlights;
    private final LongAdder serverTimeouts = new LongAdder();
    private final LongAdder waitedOut = new LongAdder();
    private final AtomicLong nextServerSlowLog = new AtomicLong();
    private final LongAdder accepted = new LongAdder();
    private final LongAdder refusedBanned = new LongAdder();
    private final LongAdder refusedOverLimit = new LongAdder();
    private final LongAdder succeeded = new LongAdder();
    private final LongAdder failed = new LongAdder();
    // the refusal log line is written by the watchdog every refusal-log-interval (refusalSummary):
    // a refusal only counts and remembers its source, no clock read, no allocation
    private final LongAdder refusalsSinceLog = new LongAdder();
    private volatile InetAddress latestRefused;
    private volatile HandshakeObserver.Refusal latestRefusal;
    private final ProxyProtocolSettings proxy;
    private final ProxyStageHandler proxyStage;

    private TlsListener(Builder b) {
        this.tls = Objects.requireNonNull(b.tls, "tls");
        this.engine = Objects.requireNonNull(b.engine, "engine");
        this.handler = Objects.requireNonNull(b.handler, "handler");
        this.config = b.config;
        this.observers = List.copyOf(b.observers);
        this.refusalObservers = observers.toArray(new HandshakeObserver[0]);
        this.clock = b.clock;
        this.ticker = b.ticker;
        this.injectedScheduler = b.scheduler;
        this.ownsApplicationExecutor = b.applicationExecutor == null;
        this.applicationExecutor = ownsApplicationExecutor
                ? Executors.newCachedThreadPool(threads("tlsjail-app-"))
                : b.applicationExecutor;
        this.admission = new SourceAdmission(config.maxHandshakesPerSource(), config.maxHandshakesTotal(),
                config.partnerReserve(), config.maxUnprovenHandshakes());
        // bounded: under an address spray only sources that completed a handshake are remembered
        com.github.benmanes.caffeine.cache.Ticker windows = ticker::getAsLong;
        this.proven = Caffeine.newBuilder().maximumSize(PROVEN_MAX).executor(Runnable::run).ticker(windows)
                .expireAfterWrite(config.partnerWindow()).build();
        this.uncountedFlights = Caffeine.newBuilder().maximumSize(PROVEN_MAX).executor(Runnable::run).ticker(windows)
                .expireAfterWrite(engine.config().findTime()).build();
        this.proxy = config.proxyProtocol();
        this.proxyStage = new ProxyStageHandler();
    }

    public static Builder builder(ServerTls tls, BanEngine engine, ConnectionHandler handler) {
        return new Builder(tls, engine, handler);
    }

    /** Binds and starts accepting. Returns this for chaining. */
    public synchronized TlsListener start() throws IOException {
        if (server != null) {
            throw new IllegalStateException("already started");
        }
        // An IPv4 address (0.0.0.0 included) gets an IPv4 socket: a dual-stack socket bound to
        // 0.0.0.0 would also accept IPv6, which operators firewall separately. "::" stays dual-stack.
        ServerSocketChannel ss = config.bind().getAddress() instanceof java.net.Inet4Address
                ? ServerSocketChannel.open(java.net.StandardProtocolFamily.INET) : ServerSocketChannel.open();
        ss.socket().setReuseAddress(true);
        ss.bind(config.bind(), config.backlog());
        server = ss;
        // A handshake past the first-flight gate blocks its thread while it waits for the client, so
        // it gets a thread at once, never a place in a queue: with a queue, clients that sent a
        // whole ClientHello and then stalled held every thread, and a partner's handshake waited in
        // the queue until its own timeout (and was logged and counted as the partner's failure).
        // The admission cap bounds the threads; the slack covers threads still finishing a
        // handshake whose slot was already released.
        handshakes = new ThreadPoolExecutor(Math.min(config.handshakeThreads(), config.maxHandshakesTotal()),
                Math.max(config.handshakeThreads(), config.maxHandshakesTotal()) + HANDSHAKE_THREAD_SLACK,
                config.idleThreadTimeout().toMillis(), TimeUnit.MILLISECONDS, new SynchronousQueue<>(), threads("tlsjail-handshake-", HANDSHAKE_STACK_BYTES));
        handshakes.allowCoreThreadTimeOut(true);
        if (injectedScheduler != null) {
            watchdog = injectedScheduler;
        } else {
            ScheduledThreadPoolExecutor own = new ScheduledThreadPoolExecutor(1, threads("tlsjail-handshake-timeout-"));
            own.setRemoveOnCancelPolicy(true);
            watchdog = own;
        }
        gate = new FirstFlightGate(config.handshakeTimeout().toNanos(), ticker, new FirstFlightGate.Next() {
            @Override
            public boolean mayStart(Visit visit) {
                return TlsListener.this.mayStart(visit);
            }

            @Override
            public void onFirstFlight(SocketChannel ch, Visit visit, byte[] firstBytes, FirstFlightGate.Exit exit) {
                afterFirstFlight(ch, visit, firstBytes, exit);
            }
        }, threads("tlsjail-first-flight-"), proxy, proxyStage);
        long logEvery = Math.max(1, config.refusalLogInterval().toMillis());
        periodic.add(watchdog.scheduleWithFixedDelay(this::refusalSummary, logEvery, logEvery, TimeUnit.MILLISECONDS));
        // the gate's deadlines are judged on the ticker, looked at on this tick: a test that
        // advances its ticker fires the tick through its scheduler and the gate looks at once
        periodic.add(watchdog.scheduleWithFixedDelay(gate::deadlinesDue, FirstFlightGate.DEADLINE_TICK_MILLIS,
                FirstFlightGate.DEADLINE_TICK_MILLIS, TimeUnit.MILLISECONDS));
        running = true;
        acceptThread = threads("tlsjail-accept-").newThread(this::acceptLoop);
        acceptThread.start();
        LOG.info("listening on {} ({})", localAddress(), String.join(", ", tls.settings().protocols()));
        return this;
    }

    /** The bound address (useful with port 0). */
    public InetSocketAddress localAddress() {
        if (server == null) {
            throw new IllegalStateException("listener not started");
        }
        return (InetSocketAddress) server.socket().getLocalSocketAddress();
    }

    /** Swaps the TLS material for new handshakes (reload); running handshakes keep the old one. */
    public void updateTls(ServerTls newTls) {
        this.tls = Objects.requireNonNull(newTls);
    }

    public ServerTls tls() {
        return tls;
    }

    public ListenerStats stats() {
        return new ListenerStats(accepted.sum(), refusedBanned.sum(), refusedOverLimit.sum(), succeeded.sum(),
                failed.sum(), admission.inProgress(), admission.started(), gate == null ? 0 : gate.waiting(),
                waitedOut.sum(), serverTimeouts.sum());
    }

    /** Counters of the PROXY header stage (all zero when {@code listen.proxy-protocol} is none). */
    public ProxyHeaderStats proxyHeaderStats() {
        return proxyStage.stats();
    }

    /** Stops accepting, closes every open connection (handshaking or handed over) and stops all threads. */
    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            if (!running) {
                return;
            }
            running = false;
            t = acceptThread;
        }
        closeQuietly(server);
        try {
            t.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        gate.close();
        for (Socket s : open) {
            closeQuietly(s);
        }
        handshakes.shutdownNow();
        for (ScheduledFuture<?> f : periodic) {
            f.cancel(false);
        }
        if (injectedScheduler == null) {
            watchdog.shutdownNow(); // an injected scheduler is its owner's to stop
        }
        refusalSummary(); // what the last interval refused
        if (ownsApplicationExecutor) {
            applicationExecutor.shutdownNow();
        }
        try {
            handshakes.awaitTermination(5, TimeUnit.SECONDS);
            if (injectedScheduler == null) {
                watchdog.awaitTermination(1, TimeUnit.SECONDS);
            }
            if (ownsApplicationExecutor) {
                applicationExecutor.awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.info("listener on {} closed", server.socket().getLocalSocketAddress());
    }

    // ------------------------------------------------------------------ accept thread

    private void acceptLoop() {
        while (running) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (IOException e) {
                if (!running) {
                    return;
                }
                // e.g. EMFILE: back off briefly instead of spinning on the error
                LOG.warn("accept failed on {}: {}", server.socket().getLocalSocketAddress(), e.toString());
                try {
                    Thread.sleep(50);
                } catch (InterruptedException ie) {
                    return;
                }
                continue;
            }
            accepted.increment();
            Socket s = ch.socket();
            if (proxy.enabled()) {
                // behind a balancer the client is known only from the header: the ban check and
                // the admission below run on the gate's thread once it is in (ProxyStageHandler)
                proxyStage.accepted(ch);
                continue;
            }
            InetAddress source = s.getInetAddress();
            // the ban check before any object of ours exists: a refused connection allocates nothing
            long epoch = engine.banEpoch(); // before the check: a ban made after it moves the epoch
            if (engine.isBanned(source)) {
                refuse(s, source, HandshakeObserver.Refusal.BANNED);
                continue;
            }
            Visit visit = new Visit(source, ticker.getAsLong());
            visit.banEpoch = epoch;
            if (holds(s, visit)) {
                gate.admit(ch, visit);
            }
        }
    }

    /**
     * The hold on a place (per ban unit and in total), for a visit whose source was just checked
     * against the bans (and its {@code banEpoch} set before that check); a refused connection is reset.
     */
    private boolean holds(Socket s, Visit visit) {
        InetAddress source = visit.source;
        identify(visit);
        SourceAdmission.Verdict v = admission.tryHold(visit);
        if (v != SourceAdmission.Verdict.ADMITTED) {
            refuse(s, source, v == SourceAdmission.Verdict.SOURCE_LIMIT
                    ? HandshakeObserver.Refusal.SOURCE_LIMIT : HandshakeObserver.Refusal.TOTAL_LIMIT);
            return false;
        }
        open.add(s);
        return true;
    }

    /** The client's address: the one a balancer's header named, else the TCP peer's. */
    private static InetSocketAddress remoteOf(Socket s, Visit visit) {
        return visit.remote != null ? visit.remote : (InetSocketAddress) s.getRemoteSocketAddress();
    }

    /**
     * The PROXY header stage ({@code listen.proxy-protocol}): only trusted balancers get in, each
     * connection's header gives the client's address, and from then on that address is the
     * visit's source for everything (ban check, admission, counting, logs, the handler). Header
     * trouble is the balancer's or an unknown client's: it closes the connection and counts
     * against nobody.
     */
    private final class ProxyStageHandler implements FirstFlightGate.ProxyStage {
        private final AtomicInteger awaitingHeader = new AtomicInteger();
        private final LongAdder untrusted = new LongAdder();
        private final LongAdder headerFailures = new LongAdder();
        private final LogThrottle failureLog = new LogThrottle(clock, config.refusalLogInterval());

        /** On the accept thread: a peer that is not a trusted balancer is reset, counted against nobody. */
        void accepted(SocketChannel ch) {
            Socket s = ch.socket();
            InetAddress peer = s.getInetAddress();
            if (!proxy.trusts(peer)) {
                untrusted.increment();
                refuse(s, peer, HandshakeObserver.Refusal.UNTRUSTED_PROXY);
                return;
            }
            // parked headers cost a descriptor each: bounded like handshakes
            if (awaitingHeader.incrementAndGet() > config.maxHandshakesTotal()) {
                awaitingHeader.decrementAndGet();
                refuse(s, peer, HandshakeObserver.Refusal.TOTAL_LIMIT);
                return;
            }
            Visit visit = new Visit(peer, ticker.getAsLong());
            visit.remote = (InetSocketAddress) s.getRemoteSocketAddress();
            gate.admitBehindProxy(ch, visit);
        }

        @Override
        public boolean onHeader(SocketChannel ch, Visit visit, ProxyHeader header) {
            awaitingHeader.decrementAndGet();
            if (!header.isLocal()) {
                // LOCAL (a health check) and address-less headers keep the connection's own endpoints
                visit.remote = header.source();
                visit.source = header.source().getAddress();
            }
            visit.banEpoch = engine.banEpoch(); // before the check, as at accept
            if (engine.isBanned(visit.source)) {
                refuse(ch.socket(), visit.source, HandshakeObserver.Refusal.BANNED);
                return false;
            }
            return holds(ch.socket(), visit);
        }

        @Override
        public void onHeaderFailure(SocketChannel ch, Visit visit, String reason, String detail) {
            awaitingHeader.decrementAndGet();
            headerFailures.increment();
            for (HandshakeObserver o : observers) {
                try {
                    o.onProxyHeaderFailure(visit.source, reason);
                } catch (RuntimeException e) {
                    LOG.warn("observer {} failed", o, e);
                }
            }
            long n = failureLog.count();
            if (n > 0) {
                LOG.info("closed {} connection(s) with a bad PROXY header since last report; latest from {}: {} ({})",
                        n, Addresses.format(visit.source), reason, LogThrottle.printable(detail));
            }
        }

        /** True for a source that is one of the balancers: never counted, never banned. */
        boolean isBalancer(InetAddress source) {
            return proxy.enabled() && proxy.trusts(source);
        }

        ProxyHeaderStats stats() {
            return new ProxyHeaderStats(untrusted.sum(), headerFailures.sum(), awaitingHeader.get());
        }
    }

    /**
     * Sets the visit's ban unit (the engine's key: per-source limits count per unit, never per
     * address inside it) and whether it is a known partner. Call again if the source is replaced.
     */
    private void identify(Visit v) {
        JailConfig c = engine.config();
        v.key = SourceKey.of(v.source, c.ipv4Prefix(), c.ipv6Prefix());
        v.partner = config.isListedPartner(v.source) || proven.getIfPresent(v.key) != null
                || engine.isIgnored(v.source);
    }

    /**
     * On the gate's thread, the ClientHello is in: may the handshake (the server's flight) start?
     * A known partner may run max-handshakes-per-source at once; any other source only as many as
     * it has failures left before its ban ({@code maxretry - failures in its window}), so it never
     * gets more than maxretry server flights per window however many connections it opens. A banned
     * source leaves at once, to be refused.
     */
    private boolean mayStart(Visit v) {
        if (bannedSince(v)) {
            return true;
        }
        if (!v.partner && proven.getIfPresent(v.key) != null) {
            v.partner = true; // proved itself while this connection waited
        }
        if (v.partner) {
            int perSource = config.maxHandshakesPerSource();
            return admission.tryStart(v, () -> perSource);
        }
        if (admission.unprovenFull()) {
            return false; // cheap: thousands may be waiting when a slot frees
        }
        return admission.tryStart(v, () -> engine.config().maxRetry() - engine.failures(v.source)
                - uncounted(v.key));
    }

    /** On the gate's thread: the first record is in (or the connection ended): now it gets a thread. */
    private void afterFirstFlight(SocketChannel ch, Visit visit, byte[] first, FirstFlightGate.Exit exit) {
        Socket s = ch.socket();
        InetAddress source = visit.source;
        if (exit == FirstFlightGate.Exit.WAITED_OUT) {
            // the client sent its ClientHello in time; the server had no slot for it: not its failure
            waitedOut.increment();
            release(s, visit);
            refuse(s, source, HandshakeObserver.Refusal.SERVER_BUSY);
            return;
        }
        FailureKind settled = settledAtTheGate(first, exit);
        if (settled != null) {
            // Known without TLS (timed out, reset, ended, not TLS): settled here, without a thread
            // and a timer. Thousands of slow clients time out in the same instant; handed to the
            // pool one by one, they were cut up to seconds after their timeout.
            if (bannedSince(visit)) {
                release(s, visit); // banned while it waited: refused, as in handshake()
                refuse(s, source, HandshakeObserver.Refusal.BANNED);
                return;
            }
            try {
                failed(source, FailureClassifier.failure(remoteOf(s, visit), settled, clock.instant()));
            } finally {
                release(s, visit);
                closeQuietly(s);
            }
            return;
        }
        try {
            handshakes.execute(() -> handshake(s, visit, first));
        } catch (RejectedExecutionException e) {
            release(s, visit);
            refuse(s, source, HandshakeObserver.Refusal.TOTAL_LIMIT);
        }
    }

    /**
     * Was the visit's source banned since its last check? Runs {@code isBanned} again only if the
     * engine made a ban since (its ban epoch moved), so a connection costs one isBanned at accept
     * and the re-checks (gate exit, handshake start) cost a volatile read while no ban is made. A
     * banned answer leaves the visit's epoch as it was: every later re-check says banned too.
     */
    private boolean bannedSince(Visit v) {
        long epoch = engine.banEpoch();
        if (epoch == v.banEpoch) {
            return false;
        }
        if (engine.isBanned(v.source)) {
            return true;
        }
        v.banEpoch = epoch;
        return false;
    }

    /** The failure a connection leaving the gate has already met, or null if it needs a TLS handshake. */
    private static FailureKind settledAtTheGate(byte[] first, FirstFlightGate.Exit exit) {
        if (exit == FirstFlightGate.Exit.TIMEOUT) {
            return FailureKind.HANDSHAKE_TIMEOUT;
        }
        if (exit == FirstFlightGate.Exit.RESET) {
            return FailureKind.CONNECTION_RESET;
        }
        FailureKind early = FailureClassifier.judgePrefix(first, Math.min(first.length, FailureClassifier.PEEK));
        if (early == null && exit == FirstFlightGate.Exit.EOF) {
            return FailureKind.UNEXPECTED_EOF; // a TLS record cut short by the client
        }
        return early;
    }

    /** Resets the connection (SO_LINGER 0: RST, nothing written), counts and tells observers. */
    private void refuse(Socket s, InetAddress source, HandshakeObserver.Refusal why) {
        try {
            s.setSoLinger(true, 0);
        } catch (IOException ignored) {
            // the close below still happens
        }
        // no clock read and nothing allocated here: the watchdog writes the line (refusalSummary)
        latestRefused = source;
        latestRefusal = why;
        refusalsSinceLog.increment();
        // counted before the reset goes out: whoever sees the reset (or the count) must find it in
        // stats() and in the next refusal summary
        if (why == HandshakeObserver.Refusal.BANNED) {
            refusedBanned.increment();
        } else if (why != HandshakeObserver.Refusal.UNTRUSTED_PROXY) {
            refusedOverLimit.increment();
        }
        closeQuietly(s);
        for (HandshakeObserver o : refusalObservers) {
            try {
                o.onRefused(source, why);
            } catch (RuntimeException e) {
                LOG.warn("observer {} failed", o, e);
            }
        }
    }

    /**
     * Every refusal-log-interval on the watchdog thread (and once at close): one operational log
     * line for the refusals since the last, if any, so a flood of refusals is one line a minute.
     */
    private void refusalSummary() {
        long n = refusalsSinceLog.sumThenReset();
        if (n > 0) {
            InetAddress source = latestRefused;
            HandshakeObserver.Refusal why = latestRefusal;
            try {
                LOG.info("refused {} connection(s) since last report; latest from {} ({})", n,
                        source == null ? "?" : Addresses.format(source),
                        why == null ? "?" : why.name().toLowerCase(java.util.Locale.ROOT));
            } catch (RuntimeException e) {
                // a failing appender must not cancel the schedule (and the lines after this one)
            }
        }
    }

    // ------------------------------------------------------------------ handshake threads

    private final class Attempt {
        volatile boolean timedOut;
    }

    /**
     * Runs on a handshake thread, only for connections whose whole first record is in and looks
     * like TLS (see settledAtTheGate). Two bounds, both on the ticker: the client has
     * handshake-timeout of its own waiting (time the server spent blocked on the client's bytes,
     * at the gate and here); the watchdog (on the scheduler) ends a handshake that took twice that
     * since it got its thread, which only happens when the server was the slow side: that timeout
     * is not the client's failure.
     */
    private void handshake(Socket raw, Visit visit, byte[] first) {
        InetAddress source = visit.source;
        if (bannedSince(visit)) {
            // banned while this connection waited for its ClientHello: typically the attacker's
            // previous handshake, whose failure was recorded after the client saw the alert and
            // reconnected. Refuse it like any banned source: no TLS work, no log line.
            release(raw, visit);
            refuse(raw, source, HandshakeObserver.Refusal.BANNED);
            return;
        }
        InetSocketAddress remote = remoteOf(raw, visit);
        ServerTls current = tls;
        Attempt attempt = new Attempt();
        long wallNanos = 2 * config.handshakeTimeout().toNanos();
        ScheduledFuture<?> timer;
        try {
            timer = watchdog.schedule(() -> {
                attempt.timedOut = true;
                closeQuietly(raw);
            }, wallNanos, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            // listener closing
            release(raw, visit);
            closeQuietly(raw);
            return;
        }
        boolean handedOver = false;
        ObservedSocket observed = null;
        try {
            WireObservation wire = new WireObservation();
            observed = new ObservedSocket(raw, wire, visit.clientWaitNanos, config.handshakeTimeout().toNanos(), ticker);
            // a handshake is several small flights each way: Nagle plus delayed ACKs would add
            // ~40 ms per round trip (measured in bench/); the application's writes are framed by TLS
            raw.setTcpNoDelay(true);
            wire.inbound.scan(first, 0, first.length); // the gate read these on BC's behalf
            SSLSocket ssl = current.serverSocket(observed, new ByteArrayInputStream(first));
            try {
                ssl.startHandshake();
            } catch (IOException | RuntimeException e) {
                if (attempt.timedOut && !observed.clientOutOfTime()) {
                    serverWasSlow(visit, remote, observed);
                    observed.release();
                    closeQuietly(ssl);
                    return;
                }
                boolean timeout = attempt.timedOut || find(e, SocketTimeoutException.class);
                failed(source, FailureClassifier.classify(e, wire, timeout,
                        current.settings().clientAuth() == ClientAuth.REQUIRED, remote, clock.instant()));
                // only now, with the failure counted (and the source banned if this was its
                // maxretry-th), may the client read the server's alert and try again
                observed.release();
                LOG.debug("handshake from {} failed", remote, e);
                closeQuietly(ssl);
                return;
            }
            observed.release();
            timer.cancel(false);
            if (attempt.timedOut) {
                if (observed.clientOutOfTime()) {
                    failed(source, FailureClassifier.failure(remote, FailureKind.HANDSHAKE_TIMEOUT, clock.instant()));
                } else {
                    serverWasSlow(visit, remote, observed);
                }
                return;
            }
            raw.setSoTimeout(0);
            List<X509Certificate> chain = peerChain(ssl);
            succeeded.increment();
            for (HandshakeObserver o : observers) {
                try {
                    o.onSuccess(remote, chain);
                } catch (RuntimeException e) {
                    LOG.warn("observer {} failed", o, e);
                }
            }
            if (!chain.isEmpty()) {
                // only a verified client certificate proves a partner: a success without one (client-auth
                // none or optional) costs an attacker nothing and must not lift the maxretry cap
                proven.put(visit.key, Boolean.TRUE);
            }
            admission.release(visit);
            gate.slotFreed();
            handedOver = true;
            try {
                applicationExecutor.execute(() -> {
                    try {
                        handler.handle(ssl, remote, chain);
                    } catch (IOException | RuntimeException e) {
                        LOG.debug("connection from {} ended with {}", remote, e.toString());
                    } finally {
                        open.remove(raw);
                        closeQuietly(ssl);
                    }
                });
            } catch (RejectedExecutionException e) {
                open.remove(raw);
                closeQuietly(ssl);
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("connection from {} failed before TLS", remote, e);
            if (attempt.timedOut && (observed == null || !observed.clientOutOfTime())) {
                serverWasSlow(visit, remote, observed);
            } else {
                failed(source, FailureClassifier.failure(remote,
                        attempt.timedOut ? FailureKind.HANDSHAKE_TIMEOUT : FailureKind.CONNECTION_RESET, clock.instant()));
            }
        } finally {
            timer.cancel(false);
            if (!handedOver) {
                release(raw, visit);
                closeQuietly(raw);
            }
        }
    }

    /**
     * A handshake ran out of wall time while the client had time left: the server was the slow
     * side (threads, CPU, the engine). Operational log (rate-limited) and a counter; never the
     * Fail2Ban log, never counted against the client.
     */
    private void serverWasSlow(Visit visit, InetSocketAddress remote, ObservedSocket observed) {
        serverTimeouts.increment();
        if (!visit.partner) {
            // recorded before the slot is released, as failures are (see mayStart)
            uncountedFlights.asMap().computeIfAbsent(visit.key, k -> new java.util.concurrent.atomic.AtomicInteger())
                    .incrementAndGet();
        }
        long now = clock.millis();
        long next = nextServerSlowLog.get();
        if (now >= next && nextServerSlowLog.compareAndSet(next, now + config.refusalLogInterval().toMillis())) {
            LOG.warn("handshake from {} ran out of time while the server was the slow side (client waited on for {} ms"
                    + " of {}); not counted as its failure ({} such since start)", Addresses.format(remote.getAddress()),
                    observed == null ? 0 : TimeUnit.NANOSECONDS.toMillis(observed.clientWaitNanos()),
                    config.handshakeTimeout(), serverTimeouts.sum());
        }
    }

    private int uncounted(SourceKey key) {
        java.util.concurrent.atomic.AtomicInteger n = uncountedFlights.getIfPresent(key);
        return n == null ? 0 : n.get();
    }

    /** Gives back the connection's places (once) and lets a waiting connection have its slot. */
    private void release(Socket raw, Visit visit) {
        if (open.remove(raw)) {
            admission.release(visit);
            gate.slotFreed();
        }
    }

    private void failed(InetAddress source, HandshakeFailure f) {
        failed.increment();
        if (proxyStage.isBalancer(source)) {
            // a balancer's own connection (a health check): its failures are nobody's
            LOG.debug("handshake of the balancer's own connection from {} failed: {}", f.remote(), f.reason());
            return;
        }
        int weight = config.weight(f.kind());
        FailureOutcome outcome = weight == 0 ? FailureOutcome.IGNORED : engine.recordFailure(source, weight, f.reason());
        for (HandshakeObserver o : observers) {
            try {
                o.onFailure(f, outcome);
            } catch (RuntimeException e) {
                LOG.warn("observer {} failed", o, e);
            }
        }
    }

    private static List<X509Certificate> peerChain(SSLSocket ssl) {
        try {
            List<X509Certificate> out = new ArrayList<>();
            for (Certificate c : ssl.getSession().getPeerCertificates()) {
                out.add((X509Certificate) c);
            }
            return List.copyOf(out);
        } catch (SSLPeerUnverifiedException e) {
            return List.of();
        }
    }

    private static boolean find(Throwable t, Class<? extends Throwable> type) {
        for (int d = 0; t != null && d < 16; d++, t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception ignored) {
            // closing a broken connection: nothing left to do
        }
    }

    private static ThreadFactory threads(String prefix) {
        return threads(prefix, 0);
    }

    /** {@code stackBytes} 0: the JVM's default stack size. */
    private static ThreadFactory threads(String prefix, long stackBytes) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(null, r, prefix + n.incrementAndGet(), stackBytes);
            t.setDaemon(true);
            return t;
        };
    }

    /** Builds a listener; nothing is bound until {@link TlsListener#start()}. */
    public static final class Builder {
        private final ServerTls tls;
        private final BanEngine engine;
        private final ConnectionHandler handler;
        private ListenerConfig config = ListenerConfig.builder().build();
        private final List<HandshakeObserver> observers = new ArrayList<>();
        private InstantSource clock = InstantSource.system();
        private LongSupplier ticker = System::nanoTime;
        private ScheduledExecutorService scheduler;
        private ExecutorService applicationExecutor;

        private Builder(ServerTls tls, BanEngine engine, ConnectionHandler handler) {
            this.tls = tls;
            this.engine = engine;
            this.handler = handler;
        }

        public Builder config(ListenerConfig c) {
            config = Objects.requireNonNull(c);
            return this;
        }

        /** Adds an observer of handshake outcomes (the Fail2Ban log, metrics, ...). */
        public Builder observer(HandshakeObserver o) {
            observers.add(Objects.requireNonNull(o));
            return this;
        }

        public Builder clock(InstantSource c) {
            clock = Objects.requireNonNull(c);
            return this;
        }

        /**
         * Monotonic nanoseconds (as {@link System#nanoTime()}, the default) for the durations the
         * listener judges: the client's handshake time (at the first-flight gate and in each read
         * of the handshake), the gate's deadlines, {@code partner-window} and the uncounted-flight
         * window. Tests inject a ticker they advance together with {@link #scheduler}. A read of
         * the client's bytes is still bounded by a real socket timeout (what is left of the
         * client's time when the read starts), so a test with an injected ticker keeps the
         * handshake timeout longer than the test takes.
         */
        public Builder ticker(LongSupplier nanoTime) {
            ticker = Objects.requireNonNull(nanoTime);
            return this;
        }

        /**
         * Runs the listener's timers: the handshake watchdog (a handshake's wall-time bound, twice
         * the handshake timeout), the refusal summary (every refusal-log-interval) and the
         * first-flight gate's deadline tick (every 100 ms). Default: a one-thread scheduler the
         * listener owns. An injected one is not shut down by {@link TlsListener#close()}; the
         * listener cancels its own tasks. Delays are given in the {@link #ticker}'s time.
         */
        public Builder scheduler(ScheduledExecutorService s) {
            scheduler = Objects.requireNonNull(s);
            return this;
        }

        /** Where {@link ConnectionHandler} calls run; default: an owned cached thread pool. */
        public Builder applicationExecutor(ExecutorService e) {
            applicationExecutor = e;
            return this;
        }

        public TlsListener build() {
            return new TlsListener(this);
        }
    }
}
