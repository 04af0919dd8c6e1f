package org.tlsjail.daemon;

import org.tlsjail.forward.RelayLimits;
import org.tlsjail.forward.TcpRelay;
import java.io.IOException;
import java.io.PrintStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import org.tlsjail.banengine.Addresses;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.BanRecord;
import org.tlsjail.banengine.FailDuration;
import org.tlsjail.banengine.FailureOutcome;
import org.tlsjail.config.Fail2BanLogSection;
import org.tlsjail.config.ForwardSection;
import org.tlsjail.config.TlsSection;
import org.tlsjail.config.TlsjailConfig;
import org.tlsjail.fail2banlog.Fail2BanLog;
import org.tlsjail.fail2banlog.Fail2BanLogConfig;
import org.tlsjail.listener.FailureKind;
import org.tlsjail.listener.HandshakeFailure;
import org.tlsjail.listener.HandshakeObserver;
import org.tlsjail.listener.ListenerConfig;
import org.tlsjail.listener.ListenerStats;
import org.tlsjail.listener.TlsListener;
import org.tlsjail.pki.DemoPki;
import org.tlsjail.tls.ClientAuth;
import org.tlsjail.tls.KeySource;
import org.tlsjail.tls.ServerTls;
import org.tlsjail.tls.TlsSettings;
import org.tlsjail.tls.TlsSetupException;
import org.tlsjail.tls.TrustSource;

/**
 * Everything facing the network and the Fail2Ban log, built from the configuration: TLS material
 * (or the demo PKI), the {@link TlsListener}, the {@link Fail2BanLog}, and what an accepted
 * connection gets (a {@link TcpRelay} to the backend, or the {@link DemoGreeter}). A reload
 * prepares replacements for all of them first and swaps them in only when all succeeded.
 */
final class TlsFront implements AutoCloseable {
    private final TlsListener listener;
    private final SwitchableLog log;
    private final ExecutorService relayThreads;
    private final ScheduledExecutorService relayWatchdog;
    private final DemoPki.Layout demo;
    private final TlsjailConfig startConfig;
    private volatile ForwardSection forward;
    private final RelayLimits relays = new RelayLimits();
    private final BanEngine engine;
    private final ExecutorService appThreads;

    private TlsFront(TlsListener listener, SwitchableLog log, ExecutorService relayThreads,
                     ScheduledExecutorService relayWatchdog, DemoPki.Layout demo, TlsjailConfig config,
                     BanEngine engine, ExecutorService appThreads) {
        this.engine = engine;
        this.appThreads = appThreads;
        this.listener = listener;
        this.log = log;
        this.relayThreads = relayThreads;
        this.relayWatchdog = relayWatchdog;
        this.demo = demo;
        this.startConfig = config;
        this.forward = config.forward();
    }

    /** @param f2b the Fail2Ban log, opened by the caller before anything slow; closed by this front */
    static TlsFront open(TlsjailConfig config, StateDirectory state, BanEngine engine, InstantSource clock,
                         List<HandshakeObserver> observers, Fail2BanLog f2b) throws StartupException {
        DemoPki.Layout demo = demoPki(config, state);
        ServerTls tls = loadTls(config, demo, clock);
        SwitchableLog log = new SwitchableLog(f2b);
        // A relay is two threads (the application thread from the listener and one copier), bounded
        // by forward.max-relays; they only copy through BC's record layer, so small stacks do.
        ExecutorService relayThreads = Executors.newCachedThreadPool(threads("tlsjail-relay-", RELAY_STACK_BYTES));
        ExecutorService appThreads = Executors.newCachedThreadPool(threads("tlsjail-app-", RELAY_STACK_BYTES));
        ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(threads("tlsjail-relay-idle-"));
        TlsFront[] self = new TlsFront[1];
        TlsListener.Builder b = TlsListener.builder(tls, engine, (socket, remote, chain) -> self[0].accepted(socket, remote, chain))
                .config(listenerConfig(config))
                .clock(clock)
                .applicationExecutor(appThreads)
                .observer(log);
        observers.forEach(b::observer);
        TlsListener listener = b.build();
        self[0] = new TlsFront(listener, log, relayThreads, watchdog, demo, config, engine, appThreads);
        try {
            listener.start();
        } catch (IOException e) {
            self[0].close();
            InetSocketAddress at = config.listen().socketAddress();
            String where = Addresses.format(at.getAddress()) + ":" + at.getPort();
            if (e instanceof BindException && String.valueOf(e.getMessage()).contains("in use")) {
                throw new StartupException("cannot listen on " + where + ": the port is already in use (another"
                        + " tlsjail or another service); stop it or change listen.port", e);
            }
            if (e instanceof BindException && String.valueOf(e.getMessage()).contains("Permission denied")) {
                throw new StartupException("cannot listen on " + where + ": permission denied (ports below 1024 need"
                        + " CAP_NET_BIND_SERVICE; see conf/systemd/tlsjail.service)", e);
            }
            throw new StartupException("cannot listen on " + where + ": " + e.getMessage(), e);
        }
        return self[0];
    }

    static ListenerConfig listenerConfig(TlsjailConfig config) {
        ListenerConfig.Builder lb = ListenerConfig.builder()
                .bind(config.listen().socketAddress())
                .backlog(config.listen().backlog())
                .maxHandshakesPerSource(config.listen().maxHandshakesPerSource())
                .maxHandshakesTotal(config.listen().maxHandshakesTotal())
                .handshakeThreads(config.listen().handshakeThreads())
                .handshakeTimeout(config.tls().handshakeTimeout())
                .partners(config.listen().partners())
                .partnerWindow(config.listen().partnerWindow())
                .partnerReserve(config.listen().partnerReserve())
                .maxUnprovenHandshakes(config.listen().maxUnprovenHandshakes())
                .proxyProtocol(config.listen().proxyProtocol());
        config.listen().weights().forEach((kind, w) -> lb.weight(FailureKind.fromConfigName(kind), w));
        return lb.build();
    }

    private void accepted(javax.net.ssl.SSLSocket socket, InetSocketAddress remote,
                          List<java.security.cert.X509Certificate> chain) {
        ForwardSection f = forward;
        if (f == null) {
            DemoGreeter.greet(socket, chain, remote);
            return;
        }
        org.tlsjail.banengine.JailConfig jc = engine.config();
        org.tlsjail.banengine.SourceKey key = org.tlsjail.banengine.SourceKey.of(remote.getAddress(), jc.ipv4Prefix(),
                jc.ipv6Prefix());
        RelayLimits.Verdict v = relays.tryOpen(key, f.maxRelays(), f.maxRelaysPerSource());
        if (v != RelayLimits.Verdict.ADMITTED) {
            relays.logRefusal(remote.getAddress(), v, f.maxRelays(), f.maxRelaysPerSource(), System.currentTimeMillis());
            TcpRelay.closeQuietly(socket); // after its handshake: close_notify, no backend connection
            return;
        }
        try {
            new TcpRelay(f, relayThreads, relayWatchdog, relays).relay(socket, remote);
        } finally {
            relays.close(key);
        }
    }

    /** The listener's gate and forward mode's relays as metrics; {@code front} may be null until started. */
    static void registerMetrics(org.tlsjail.metrics.DaemonMetrics m, java.util.function.Supplier<TlsFront> front) {
        java.util.function.Function<java.util.function.ToLongFunction<ListenerStats>, java.util.function.LongSupplier> l =
                f -> () -> front.get() == null ? 0 : f.applyAsLong(front.get().stats());
        java.util.function.Function<java.util.function.ToLongFunction<RelayLimits.Stats>, java.util.function.LongSupplier> r =
                f -> () -> front.get() == null ? 0 : f.applyAsLong(front.get().relayStats());
        m.gauge("tlsjail_handshakes_in_progress", "Connections parked at the first-flight gate or handshaking",
                l.apply(ListenerStats::handshakesInProgress));
        m.gauge("tlsjail_handshakes_started", "Handshakes past the first-flight gate (server flight sent or due)",
                l.apply(ListenerStats::handshakesStarted));
        m.gauge("tlsjail_handshakes_waiting", "Connections whose ClientHello is in, waiting for a handshake slot",
                l.apply(ListenerStats::waitingForSlot));
        m.counter("tlsjail_handshake_server_timeouts",
                "Handshakes that ran out of time while the server was the slow side (not counted against the client)",
                l.apply(ListenerStats::serverTimeouts));
        m.gauge("tlsjail_relays_open", "Relayed connections to the backend open now", r.apply(RelayLimits.Stats::open));
        m.counter("tlsjail_relays", "Relayed connections opened since start", r.apply(RelayLimits.Stats::relayed));
        m.counter("tlsjail_relays_refused_total_limit", "Relays refused after the handshake: forward.max-relays reached",
                r.apply(RelayLimits.Stats::refusedTotalLimit));
        m.counter("tlsjail_relays_refused_source_limit",
                "Relays refused after the handshake: forward.max-relays-per-source reached",
                r.apply(RelayLimits.Stats::refusedSourceLimit));
        m.counter("tlsjail_backend_connect_failures", "Backend connections that could not be opened",
                r.apply(RelayLimits.Stats::connectFailures));
        m.counter("tlsjail_relayed_bytes_to_backend", "Bytes relayed from clients to the backend",
                r.apply(RelayLimits.Stats::bytesToBackend));
        m.counter("tlsjail_relayed_bytes_to_client", "Bytes relayed from the backend to clients",
                r.apply(RelayLimits.Stats::bytesToClient));
    }

    RelayLimits.Stats relayStats() {
        return relays.stats();
    }

    private static DemoPki.Layout demoPki(TlsjailConfig config, StateDirectory state) throws StartupException {
        if (!config.tls().usesDemoPki()) {
            return null;
        }
        try {
            state.files().ensureDirectory(state.demoPki(), "demo PKI");
            return DemoPki.ensure(state.demoPki());
        } catch (org.tlsjail.files.UnsafePathException e) {
            throw StartupException.unsafe(e);
        } catch (IOException | RuntimeException e) {
            throw new StartupException("cannot create the demo PKI in " + state.demoPki() + ": " + e.getMessage(), e);
        }
    }

    static ServerTls loadTls(TlsjailConfig config, DemoPki.Layout demo, InstantSource clock) throws StartupException {
        TlsSection t = config.tls();
        KeySource key;
        TrustSource trust;
        if (demo != null) {
            key = KeySource.pem(demo.serverChain(), demo.serverKey());
            trust = t.clientCa() != null ? trustOf(t) : TrustSource.pemBundle(demo.caCertificate());
        } else if (t.usesDemoPki()) {
            key = null;
            trust = t.clientCa() == null ? null : trustOf(t);
        } else {
            key = t.keystore() != null ? KeySource.pkcs12(t.keystore(), t.keystorePassword())
                    : KeySource.pem(t.cert(), t.key());
            trust = t.clientCa() == null ? null : trustOf(t);
        }
        for (Path p : new Path[] {t.key(), t.cert(), t.keystore(), t.clientCa()}) {
            if (p != null && !java.nio.file.Files.isReadable(p)) {
                throw StartupException.configuration("tls: cannot read " + p + (java.nio.file.Files.exists(p)
                        ? " (permission denied for this user)" : " (no such file)"), null);
            }
        }
        try {
            if (demo == null && t.usesDemoPki()) {
                // config check: the demo PKI does not exist yet; check what the operator named
                ServerTls.checkClientTrust(trust, t.revocation(), clock);
                return null;
            }
            TlsSettings settings = new TlsSettings(key, trust, t.protocols(), t.cipherSuites(),
                    t.clientAuth(), t.signatureSchemes(), t.certificatePolicy(), t.revocation());
            return ServerTls.load(settings, clock);
        } catch (TlsSetupException | IllegalArgumentException e) {
            // wrong TLS material is a configuration error: restarting the daemon cannot fix it
            throw StartupException.configuration("tls: " + e.getMessage(), e);
        }
    }

    /**
     * What {@code config check} verifies of the TLS material without starting anything: every
     * key, certificate, key store, client CA and CRL file is read and the key matched against
     * its certificate, exactly as {@code run} would (the demo PKI, made at start, excepted).
     */
    static void check(TlsjailConfig config, InstantSource clock) throws StartupException {
        ServerTls tls = loadTls(config, null, clock);
        if (tls != null) {
            tls.close();
        }
    }

    private static TrustSource trustOf(TlsSection t) {
        return t.clientCaIsPkcs12() ? TrustSource.pkcs12(t.clientCa(), t.clientCaPassword())
                : TrustSource.pemBundle(t.clientCa());
    }

    static Fail2BanLog openLog(Fail2BanLogSection s, InstantSource clock, org.tlsjail.files.FileSafety files)
            throws StartupException {
        Fail2BanLogConfig c = Fail2BanLogConfig.of(s.path()).withDated(s.trailingTimestamp())
                .withMode(Fail2BanLogConfig.parseMode(s.modeOctal()));
        try {
            return Fail2BanLog.open(c, clock, files);
        } catch (org.tlsjail.files.UnsafePathException e) {
            throw StartupException.unsafe(e);
        } catch (IOException | RuntimeException e) {
            throw new StartupException("fail2ban-log.path " + s.path() + " is not writable by this user ("
                    + (e instanceof IOException io ? StateDirectory.reason(io) : e.getMessage())
                    + "); create its directory and give this user write access", e);
        }
    }

    int port() {
        return listener.localAddress().getPort();
    }

    /** A reload's new front-side settings, loaded and checked but not yet in force. */
    interface Prepared {
        void commit();

        /** The reload failed after this was prepared: release what was loaded (the CRL watcher, a new log). */
        void abandon();
    }

    Prepared prepare(TlsjailConfig next, InstantSource clock, StateDirectory state) throws StartupException {
        DemoPki.Layout nextDemo = demoPki(next, state);
        ServerTls tls = loadTls(next, nextDemo, clock);
        Fail2BanLog current = log.current();
        Fail2BanLogSection ls = next.fail2banLog();
        boolean sameLog = current.config().file().equals(ls.path()) && current.config().dated() == ls.trailingTimestamp()
                && current.config().mode().equals(Fail2BanLogConfig.parseMode(ls.modeOctal()));
        Fail2BanLog newLog;
        try {
            newLog = sameLog ? null : openLog(ls, clock, state.files());
        } catch (StartupException | RuntimeException e) {
            tls.close();
            throw e;
        }
        return new Prepared() {
            @Override
            public void commit() {
                ServerTls old = listener.tls();
                listener.updateTls(tls);
                old.close(); // stops its CRL watcher; handshakes already under way keep their CRLs
                forward = next.forward();
                if (newLog != null) {
                    log.swap(newLog).close();
                }
            }

            @Override
            public void abandon() {
                tls.close();
                if (newLog != null) {
                    newLog.close();
                }
            }
        };
    }

    /** Reopens (and if missing creates) the log file before returning; null if it is open, else why not. */
    String reopenLog() throws InterruptedException {
        return log.current().reopenAndWait(java.time.Duration.ofSeconds(10));
    }

    void appendStatus(StringBuilder sb) {
        ListenerStats s = listener.stats();
        sb.append("connections:     ").append(s.accepted()).append(" accepted, ").append(s.refusedBanned())
                .append(" refused (banned), ").append(s.refusedOverLimit()).append(" refused (over limit)\n");
        sb.append("handshakes:      ").append(s.handshakesSucceeded()).append(" ok, ").append(s.handshakesFailed())
                .append(" failed, ").append(s.handshakesInProgress()).append(" in progress\n");
        if (startConfig.listen().proxyProtocol().enabled()) {
            org.tlsjail.listener.ProxyHeaderStats p = listener.proxyHeaderStats();
            sb.append("proxy headers:   ").append(p.refusedUntrusted()).append(" refused (untrusted peer), ")
                    .append(p.headerFailures()).append(" closed (bad header), ").append(p.awaitingHeader())
                    .append(" awaited\n");
        }
        sb.append("log lines lost:  ").append(log.current().dropped() + log.current().failedWrites()).append('\n');
        ForwardSection f = forward;
        sb.append("accepted go to:  ").append(f == null ? "demo greeter" : f.target() + " (proxy-protocol "
                + f.proxyProtocol().yamlName() + ")").append('\n');
        sb.append("gate:            ").append(s.handshakesStarted()).append(" handshaking, ").append(s.waitingForSlot())
                .append(" waiting for a slot, ").append(s.waitedOut()).append(" waited out, ").append(s.serverTimeouts())
                .append(" server-side timeouts (not counted)\n");
        if (f != null) {
            RelayLimits.Stats r = relays.stats();
            sb.append("relays:          ").append(r.open()).append(" open (max ").append(f.maxRelays()).append(", ")
                    .append(f.maxRelaysPerSource()).append(" per source), ").append(r.relayed()).append(" relayed, ")
                    .append(r.refusedTotalLimit() + r.refusedSourceLimit()).append(" refused, ")
                    .append(r.connectFailures()).append(" backend connect failures\n");
            sb.append("relayed bytes:   ").append(r.bytesToBackend()).append(" to backend, ").append(r.bytesToClient())
                    .append(" to clients\n");
        }
    }

    ListenerStats stats() {
        return listener.stats();
    }

    long logLinesLost() {
        return log.current().dropped() + log.current().failedWrites();
    }

    /**
     * The start-up banner: with the demo PKI, the commands to try it; always, the bans restored
     * from earlier runs (a source banned yesterday is refused today, demo certificate or not)
     * and how to lift them. {@code command} is how the operator runs the CLI.
     */
    void printWelcome(PrintStream out, List<BanRecord> restored, String command) {
        String opts = (startConfig.source() == null ? "" : " --config " + startConfig.source())
                + " --state-dir " + startConfig.stateDir();
        if (demo != null) {
            String host = startConfig.listen().address().isAnyLocalAddress() ? "127.0.0.1"
                    : Addresses.format(startConfig.listen().address());
            if (host.indexOf(':') >= 0) {
                host = "[" + host + "]";
            }
            String connect = "openssl s_client -connect " + host + ":" + port() + " -CAfile " + demo.caCertificate();
            out.println();
            out.println("tlsjail is listening on " + host + ":" + port() + " with a demo PKI in " + demo.caCertificate().getParent());
            out.println();
            out.println("With the demo client certificate (succeeds; tlsjail greets you with the certificate's subject):");
            out.println("  " + connect + " -cert " + demo.clientChain() + " -key " + demo.clientKey() + " -ign_eof </dev/null");
            out.println();
            out.println("Without a client certificate (fails; after " + startConfig.jail().maxRetry() + " failures within "
                    + FailDuration.format(startConfig.jail().findTime()) + " the source is banned for "
                    + FailDuration.format(startConfig.jail().banTime()) + " and refused at once):");
            out.println("  " + connect + " -tls1_2 </dev/null");
            out.println();
            out.println("Fail2Ban log: " + startConfig.fail2banLog().path());
            out.println("See the bans:  " + command + " banned" + opts);
            out.println("Lift a ban:    " + command + " unban 127.0.0.1" + opts);
            out.println("Stop:          " + command + " stop" + opts + "   (or Ctrl-C; bans are kept)");
            out.println();
        }
        if (!restored.isEmpty()) {
            out.println("Restored " + restored.size() + " ban(s) from " + startConfig.stateDir().resolve("bans.journal")
                    + "; these sources are refused until their ban ends:");
            int shown = 0;
            for (BanRecord r : restored) {
                if (shown++ == 10) {
                    out.println("  ... and " + (restored.size() - 10) + " more (" + command + " banned" + opts + ")");
                    break;
                }
                out.println("  " + r.key() + (r.isPermanent() ? " permanently" : " until " + r.until()) + " (" + r.reason() + ")");
            }
            out.println("Lift one:      " + command + " unban " + restored.get(0).key() + opts);
            out.println("Lift all:      " + command + " unban --all" + opts);
            out.println();
        }
    }

    @Override
    public void close() {
        listener.close();
        listener.tls().close();
        relayThreads.shutdownNow();
        relayWatchdog.shutdownNow();
        appThreads.shutdownNow();
        Fail2BanLog l = log.current();
        try {
            l.flush(java.time.Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        l.close();
    }

    /** The listener's observers are fixed at build time; this one lets a reload move the log file. */
    static final class SwitchableLog implements HandshakeObserver {
        private volatile Fail2BanLog log;

        SwitchableLog(Fail2BanLog log) {
            this.log = Objects.requireNonNull(log);
        }

        Fail2BanLog current() {
            return log;
        }

        Fail2BanLog swap(Fail2BanLog next) {
            Fail2BanLog old = log;
            log = next;
            return old;
        }

        @Override
        public void onFailure(HandshakeFailure failure, FailureOutcome outcome) {
            log.onFailure(failure, outcome);
        }
    }

    /** Stack of a relay's threads: they copy through BC's record layer, a shallow call depth. */
    private static final long RELAY_STACK_BYTES = 512 * 1024;

    private static java.util.concurrent.ThreadFactory threads(String prefix) {
        return threads(prefix, 0);
    }

    private static java.util.concurrent.ThreadFactory threads(String prefix, long stackBytes) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(null, r, prefix + n.incrementAndGet(), stackBytes);
            t.setDaemon(true);
            return t;
        };
    }
}
