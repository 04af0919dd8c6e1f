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
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsjail.banengine.Addresses;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.FailureOutcome;
import org.tlsjail.tls.ClientAuth;
import org.tlsjail.tls.ServerTls;

/**
 * The TLS listener. The accept thread asks the ban engine about each source before any TLS object
 * exists and resets banned sources at once; handshakes run on a bounded pool with a wall-clock
 * timeout; each failure is classified (OpenSSL code and reason), fed to the engine with its
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

    private final BanEngine engine;
    private final ConnectionHandler handler;
    private final ListenerConfig config;
    private final List<HandshakeObserver> observers;
    private final InstantSource clock;
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
    private ScheduledThreadPoolExecutor watchdog;

    private final LongAdder accepted = new LongAdder();
    private final LongAdder refusedBanned = new LongAdder();
    private final LongAdder refusedOverLimit = new LongAdder();
    private final LongAdder succeeded = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final AtomicLong refusalsSinceLog = new AtomicLong();
    private final AtomicLong nextRefusalLog = new AtomicLong();

    private TlsListener(Builder b) {
        this.tls = Objects.requireNonNull(b.tls, "tls");
        this.engine = Objects.requireNonNull(b.engine, "engine");
        this.handler = Objects.requireNonNull(b.handler, "handler");
        this.config = b.config;
        this.observers = List.copyOf(b.observers);
        this.clock = b.clock;
        this.ownsApplicationExecutor = b.applicationExecutor == null;
        this.applicationExecutor = ownsApplicationExecutor
                ? Executors.newCachedThreadPool(threads("tlsjail-app-"))
                : b.applicationExecutor;
        this.admission = new SourceAdmission(config.maxHandshakesPerSource(), config.maxHandshakesTotal());
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
                Math.max(config.handshakeThreads(), config.maxHandshakesTotal()) + HANDSHAKE_THREAD_SLACK, 30,
                TimeUnit.SECONDS, new SynchronousQueue<>(), threads("tlsjail-handshake-"));
        handshakes.allowCoreThreadTimeOut(true);
        watchdog = new ScheduledThreadPoolExecutor(1, threads("tlsjail-handshake-timeout-"));
        watchdog.setRemoveOnCancelPolicy(true);
        gate = new FirstFlightGate(config.handshakeTimeout().toNanos(), this::afterFirstFlight,
                threads("tlsjail-first-flight-"));
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
                failed.sum(), admission.inProgress());
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
        watchdog.shutdownNow();
        if (ownsApplicationExecutor) {
            applicationExecutor.shutdownNow();
        }
        try {
            handshakes.awaitTermination(5, TimeUnit.SECONDS);
            watchdog.awaitTermination(1, TimeUnit.SECONDS);
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
            InetAddress source = s.getInetAddress();
            if (engine.isBanned(source)) {
                refuse(s, source, HandshakeObserver.Refusal.BANNED);
                continue;
            }
            SourceAdmission.Verdict v = admission.tryAcquire(source);
            if (v != SourceAdmission.Verdict.ADMITTED) {
                refuse(s, source, v == SourceAdmission.Verdict.SOURCE_LIMIT
                        ? HandshakeObserver.Refusal.SOURCE_LIMIT : HandshakeObserver.Refusal.TOTAL_LIMIT);
                continue;
            }
            open.add(s);
            gate.admit(ch, source, System.nanoTime());
        }
    }

    /** On the gate's thread: the first record is in (or the connection ended): now it gets a thread. */
    private void afterFirstFlight(SocketChannel ch, InetAddress source, long acceptedAt, byte[] first,
                                  FirstFlightGate.Exit exit) {
        Socket s = ch.socket();
        FailureKind settled = settledAtTheGate(first, exit);
        if (settled != null) {
            // Known without TLS (timed out, reset, ended, not TLS): settled here, without a thread
            // and a timer. Thousands of slow clients time out in the same instant; handed to the
            // pool one by one, they were cut up to seconds after their timeout.
            if (engine.isBanned(source)) {
                release(s, source); // banned while it waited: refused, as in handshake()
                refuse(s, source, HandshakeObserver.Refusal.BANNED);
                return;
            }
            try {
                failed(source, FailureClassifier.failure((InetSocketAddress) s.getRemoteSocketAddress(), settled,
                        clock.instant()));
            } finally {
                release(s, source);
                closeQuietly(s);
            }
            return;
        }
        try {
            handshakes.execute(() -> handshake(s, source, acceptedAt, first));
        } catch (RejectedExecutionException e) {
            if (open.remove(s)) {
                admission.release(source);
            }
            refuse(s, source, HandshakeObserver.Refusal.TOTAL_LIMIT);
        }
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
        // counted before the reset goes out: whoever sees the reset must find it in stats()
        if (why == HandshakeObserver.Refusal.BANNED) {
            refusedBanned.increment();
        } else {
            refusedOverLimit.increment();
        }
        closeQuietly(s);
        for (HandshakeObserver o : observers) {
            try {
                o.onRefused(source, why);
            } catch (RuntimeException e) {
                LOG.warn("observer {} failed", o, e);
            }
        }
        long n = refusalsSinceLog.incrementAndGet();
        long now = clock.millis();
        long next = nextRefusalLog.get();
        if (now >= next && nextRefusalLog.compareAndSet(next, now + config.refusalLogInterval().toMillis())) {
            refusalsSinceLog.addAndGet(-n);
            LOG.info("refused {} connection(s) since last report; latest from {} ({})", n,
                    Addresses.format(source), why.name().toLowerCase(java.util.Locale.ROOT));
        }
    }

    // ------------------------------------------------------------------ handshake threads

    private final class Attempt {
        volatile boolean timedOut;
    }

    /** Runs on a handshake thread; the timeout counts from the accept, not from when a thread got free. */
    /** Only for connections whose whole first record is in and looks like TLS (see settledAtTheGate). */
    private void handshake(Socket raw, InetAddress source, long acceptedAt, byte[] first) {
        if (engine.isBanned(source)) {
            // banned while this connection waited for its ClientHello: typically the attacker's
            // previous handshake, whose failure was recorded after the client saw the alert and
            // reconnected. Refuse it like any banned source: no TLS work, no log line.
            release(raw, source);
            refuse(raw, source, HandshakeObserver.Refusal.BANNED);
            return;
        }
        InetSocketAddress remote = (InetSocketAddress) raw.getRemoteSocketAddress();
        ServerTls current = tls;
        Attempt attempt = new Attempt();
        long timeoutMs = Math.max(1, config.handshakeTimeout().toMillis()
                - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - acceptedAt));
        ScheduledFuture<?> timer;
        try {
            timer = watchdog.schedule(() -> {
                attempt.timedOut = true;
                closeQuietly(raw);
            }, timeoutMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // listener closing
            release(raw, source);
            closeQuietly(raw);
            return;
        }
        boolean handedOver = false;
        try {
            WireObservation wire = new WireObservation();
            ObservedSocket observed = new ObservedSocket(raw, wire);
            raw.setSoTimeout((int) Math.min(Integer.MAX_VALUE, timeoutMs));
            // a handshake is several small flights each way: Nagle plus delayed ACKs would add
            // ~40 ms per round trip (measured in bench/); the application's writes are framed by TLS
            raw.setTcpNoDelay(true);
            wire.inbound.scan(first, 0, first.length); // the gate read these on BC's behalf
            SSLSocket ssl = current.serverSocket(observed, new ByteArrayInputStream(first));
            try {
                ssl.startHandshake();
            } catch (IOException | RuntimeException e) {
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
                failed(source, FailureClassifier.failure(remote, FailureKind.HANDSHAKE_TIMEOUT, clock.instant()));
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
            admission.release(source);
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
            failed(source, FailureClassifier.failure(remote,
                    attempt.timedOut ? FailureKind.HANDSHAKE_TIMEOUT : FailureKind.CONNECTION_RESET, clock.instant()));
        } finally {
            timer.cancel(false);
            if (!handedOver) {
                release(raw, source);
                closeQuietly(raw);
            }
        }
    }

    private void release(Socket raw, InetAddress source) {
        if (open.remove(raw)) {
            admission.release(source);
        }
    }

    private void failed(InetAddress source, HandshakeFailure f) {
        failed.increment();
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
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + n.incrementAndGet());
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
