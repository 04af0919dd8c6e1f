package org.tlsjail.daemon;

import org.tlsjail.control.ControlServer;
import java.io.IOException;
import java.io.PrintStream;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import jnr.posix.POSIX;
import jnr.posix.POSIXFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tlsjail.banengine.Addresses;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.BanJournal;
import org.tlsjail.banengine.BanRecord;
import org.tlsjail.banengine.EngineStats;
import org.tlsjail.banengine.FailDuration;
import org.tlsjail.banengine.SourceKey;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.bridge.BridgeConfig;
import org.tlsjail.bridge.BridgeStartException;
import org.tlsjail.bridge.nftables.NftablesBridgeConfig;
import org.tlsjail.bridge.HostBanBridge;
import org.tlsjail.bridge.HostBanBridges;
import org.tlsjail.config.ConfigException;
import org.tlsjail.config.TlsjailConfig;
import org.tlsjail.fail2banlog.Fail2BanLog;
import org.tlsjail.files.FileSafety;
import org.tlsjail.files.UnsafePathException;
import org.tlsjail.metrics.DaemonMetrics;

/**
 * The running product: state directory, ban journal, ban engine, Fail2Ban log, TLS listener,
 * control socket, metrics, signals. Data flows one way: listener -> engine -> sinks (Fail2Ban log,
 * journal, metrics); the control socket and reload only change settings and bans.
 */
public final class Daemon {
    private static final Logger LOG = LoggerFactory.getLogger(Daemon.class);

    /** Re-reads the configuration the daemon was started with (same file, same --state-dir). */
    @FunctionalInterface
    public interface ConfigSource {
        TlsjailConfig load() throws ConfigException;
    }

    private final ConfigSource source;
    private final InstantSource clock = InstantSource.system();
    private final POSIX posix = POSIXFactory.getNativePOSIX();
    private final FileSafety files = new FileSafety(posix.geteuid());
    private final CountDownLatch stopRequested = new CountDownLatch(1);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final Object reloadLock = new Object();
    private final List<AutoCloseable> closeables = new ArrayList<>();

    private volatile TlsjailConfig config;
    private StateDirectory state;
    private boolean ownsPortFile;
    private volatile boolean started;
    private BanEngine engine;
    private ManualBans manualBans;
    private BanJournal journal;
    private ControlServer control;
    private volatile TlsFront front;
    private volatile List<HostBanBridge> bridges = List.of();
    private DaemonMetrics metrics;
    private volatile org.tlsjail.cluster.ClusterNode cluster;

    private Daemon(TlsjailConfig config, ConfigSource source) {
        this.config = config;
        this.source = source;
    }

    /** Starts everything or nothing: on failure whatever was opened is closed again. */
    public static Daemon start(TlsjailConfig config, ConfigSource source, PrintStream out) throws StartupException {
        Daemon d = new Daemon(config, source);
        try {
            d.open(out);
        } catch (StartupException | RuntimeException e) {
            d.closeAll();
            if (e instanceof StartupException se) {
                throw se;
            }
            throw new StartupException("start-up failed: " + e, e);
        }
        return d;
    }

    private void open(PrintStream out) throws StartupException {
        state = StateDirectory.prepare(config.stateDir(), files);
        try {
            files.ensureDirectory(config.controlSocket().toAbsolutePath().getParent(), "control.socket");
        } catch (UnsafePathException e) {
            throw StartupException.unsafe(e);
        } catch (IOException e) {
            throw new StartupException("cannot create the directory of control.socket " + config.controlSocket() + ": "
                    + StateDirectory.reason(e), e);
        }
        try {
            files.checkOwnedIfPresent(config.controlSocket(), "control.socket");
        } catch (UnsafePathException e) {
            throw StartupException.unsafe(e);
        } catch (IOException e) {
            throw new StartupException("cannot check control.socket " + config.controlSocket() + ": "
                    + StateDirectory.reason(e), e);
        }
        // The control socket first: its umask dance must happen before other threads create files,
        // and a second daemon on the same state-dir is caught before it touches the journal.
        control = new ControlServer(config.controlSocket(), new DaemonCommands(this), posix);
        try {
            control.start();
        } catch (IOException e) {
            throw new StartupException("cannot open control socket " + config.controlSocket() + ": " + e.getMessage(), e);
        }
        closeables.add(control);
        // Only now is this daemon the state-dir's owner: a port file left by a kill -9 must not be
        // mistaken for this run's (and a second daemon refused above must not delete the first's).
        state.removePort();
        ownsPortFile = true;

        // The Fail2Ban log next, before anything slow (journal replay, demo PKI keys, TLS, bridges):
        // a Fail2Ban started alongside must find the file, or it refuses the jail.
        Fail2BanLog f2b = TlsFront.openLog(config.fail2banLog(), clock, files);
        closeables.add(f2b);

        engine = new BanEngine(config.jail(), clock);
        manualBans = new ManualBans(engine);
        try {
            files.checkExistingFile(state.journal(), "ban journal");
        } catch (UnsafePathException e) {
            throw StartupException.unsafe(e);
        } catch (IOException e) {
            throw new StartupException("cannot check ban journal " + state.journal() + ": " + StateDirectory.reason(e), e);
        }
        try {
            journal = BanJournal.open(state.journal(), clock, config.jail());
        } catch (IOException e) {
            throw new StartupException("cannot open ban journal " + state.journal() + ": " + StateDirectory.reason(e), e);
        }
        closeables.add(journal);
        int restored = journal.restoreInto(engine);
        // before the cluster and the bridges add theirs: the banner lists what this node's journal held
        List<BanRecord> restoredBans = engine.banned();
        engine.addListener(journal);
        if (restored > 0) {
            LOG.info("restored {} active ban(s) from {}", restored, state.journal());
        }
        closeables.add(engine.startSweeper());

        List<org.tlsjail.listener.HandshakeObserver> observers = new ArrayList<>();
        if (config.metrics() != null) {
            metrics = new DaemonMetrics(engine, () -> front == null ? 0 : front.logLinesLost());
            engine.addListener(metrics);
            observers.add(metrics);
            TlsFront.registerMetrics(metrics, () -> front);
            try {
                metrics.serve(config.metrics().host(), config.metrics().port());
            } catch (IOException e) {
                throw new StartupException("cannot serve metrics on " + config.metrics().listen() + ": "
                        + (e instanceof java.net.BindException ? "the port is already in use" : e.getMessage())
                        + "; change metrics.listen", e);
            }
            closeables.add(metrics);
            // the bound port, not the configured one: with port 0 the configured text says nothing
            LOG.info("Prometheus metrics on http://{}/metrics",
                    new org.tlsjail.config.MetricsSection(config.metrics().host(), metrics.port()).listen());
        }
        org.tlsjail.config.ConfigWarnings.of(config).forEach(w -> LOG.warn("{}", w));
        if (!BanEngine.readsIpv6InPlace()) {
            LOG.info("IPv6 sources are checked through a memo of recent addresses, and each address new to it costs "
                    + "a 16-byte copy: {}", BanEngine.whyIpv6NotReadInPlace());
        }
        joinCluster();
        bridges = startBridges(config);
        closeables.add(() -> stopBridges(bridges));
        observers.add(new BridgeFailureFeed(() -> bridges));
        front = TlsFront.open(config, state, engine, clock, observers, f2b);
        closeables.add(front);
        installSignals();
        LOG.info("tlsjail listening on {}:{}, config {}, jail maxretry {} findtime {} bantime {}",
                Addresses.format(config.listen().address()), front.port(), config.sourceName(),
                config.jail().maxRetry(), FailDuration.format(config.jail().findTime()),
                FailDuration.format(config.jail().banTime()));
        front.printWelcome(out, restoredBans, command());
        out.flush();
        // Last: whoever waits for the port file (scripts, the black-box tests) finds start-up complete,
        // the welcome text included.
        try {
            state.writePort(front.port());
        } catch (IOException e) {
            throw new StartupException("cannot write " + state.portFile() + ": " + StateDirectory.reason(e), e);
        }
        started = true;
        // systemd (Type=notify): ready once the port is open and the Fail2Ban log exists, so a
        // fail2ban.service ordered After= this unit finds the log it watches.
        SystemdNotify.fromEnvironment().ready("listening on " + Addresses.format(config.listen().address()) + ":"
                + front.port() + (restoredBans.isEmpty() ? "" : ", " + restoredBans.size() + " ban(s) restored"));
    }

    /**
     * How the operator runs the CLI, for the commands the banner prints: {@code ./tlsjail} from a
     * checkout, {@code tlsjail} when on PATH; the launcher passes it as {@code tlsjail.command}.
     */
    static String command() {
        String c = System.getProperty("tlsjail.command", "tlsjail");
        return c.isBlank() || c.chars().anyMatch(ch -> ch < 0x20) ? "tlsjail" : c;
    }

    /**
     * With {@code cluster:}, joins the other nodes through Redis before the listener serves, so a
     * source the cluster banned is refused from the first connection. Redis unreachable is not
     * fatal (the node starts alone and keeps trying); Redis refusing the credentials is.
     */
    private void joinCluster() throws StartupException {
        if (config.cluster() == null) {
            return;
        }
        java.util.function.LongConsumer lag = metrics == null ? ms -> { } : metrics::observeClusterLag;
        try {
            cluster = org.tlsjail.cluster.ClusterNode.start(config.cluster().settings(), engine, clock, lag);
        } catch (org.tlsjail.cluster.ClusterStartException e) {
            throw new StartupException(e.getMessage(), e);
        }
        closeables.add(cluster);
        if (metrics != null) {
            metrics.observeCluster(cluster::status);
        }
    }

    /**
     * Creates and starts the bridges {@code bridge:} enables (each registers itself on the engine
     * and catches up with the active bans). All or none: on failure the started ones are closed.
     */
    private List<HostBanBridge> startBridges(TlsjailConfig c) throws StartupException {
        // already checked when the configuration was read: creating opens nothing yet
        List<HostBanBridge> created = HostBanBridges.create(c.bridge(), engine, clock);
        List<HostBanBridge> started = new ArrayList<>();
        try {
            for (HostBanBridge b : created) {
                b.startOn(engine);
                started.add(b);
                LOG.info("bridge started: {}", b.status().name());
            }
        } catch (BridgeStartException | IllegalStateException e) {
            stopBridges(started);
            throw new StartupException("bridge: " + e.getMessage(), e);
        }
        return List.copyOf(started);
    }

    private void stopBridges(List<HostBanBridge> list) {
        for (HostBanBridge b : list) {
            engine.removeListener(b);
            try {
                b.close();
            } catch (RuntimeException e) {
                LOG.warn("error while stopping bridge {}: {}", b.status().name(), e.toString());
            }
        }
    }

    private void installSignals() {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stopRequested.countDown();
            closeAll();
        }, "tlsjail-shutdown"));
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> {
                Thread t = new Thread(() -> {
                    ReloadResult r = reload();
                    if (r.ok()) {
                        LOG.info("SIGHUP: {}", r.message());
                    } else {
                        LOG.error("SIGHUP: reload refused, running configuration unchanged: {}", r.message());
                    }
                }, "tlsjail-reload");
                t.setDaemon(true);
                t.start();
            });
        } catch (IllegalArgumentException e) {
            LOG.warn("SIGHUP handling unavailable ({}); use `tlsjail reload`", e.getMessage());
        }
    }

    /** Blocks until {@code tlsjail stop}, SIGTERM or SIGINT, then shuts down. */
    public void awaitStop() throws InterruptedException {
        stopRequested.await();
        closeAll();
    }

    void requestStop() {
        stopRequested.countDown();
    }

    private void closeAll() {
        synchronized (closeables) {
            if (stopped.getCount() == 0) {
                return;
            }
            for (int i = closeables.size() - 1; i >= 0; i--) {
                try {
                    closeables.get(i).close();
                } catch (Exception e) {
                    LOG.warn("error while stopping: {}", e.toString());
                }
            }
            closeables.clear();
            if (ownsPortFile) {
                state.removePort();
            }
            stopped.countDown();
        }
        if (started) {
            LOG.info("tlsjail stopped");
        }
    }

    record ReloadResult(boolean ok, String message) {
    }

    /**
     * Re-reads the file and applies it all or not at all: everything that can fail (parsing, TLS
     * material, opening the new log) is done before anything running is touched.
     */
    ReloadResult reload() {
        synchronized (reloadLock) {
            TlsjailConfig next;
            try {
                next = source.load();
            } catch (ConfigException e) {
                return new ReloadResult(false, e.getMessage());
            }
            TlsjailConfig current = config;
            List<String> needRestart = new ArrayList<>();
            if (!next.listen().equals(current.listen())) {
                needRestart.add("listen");
            }
            if (!next.stateDir().equals(current.stateDir())) {
                needRestart.add("state-dir");
            }
            if (!next.controlSocket().equals(current.controlSocket())) {
                needRestart.add("control.socket");
            }
            if (!java.util.Objects.equals(next.metrics(), current.metrics())) {
                needRestart.add("metrics");
            }
            if (!java.util.Objects.equals(next.cluster(), current.cluster())) {
                needRestart.add("cluster");
            }
            TlsFront.Prepared prepared;
            try {
                prepared = front.prepare(next, clock, state);
            } catch (StartupException e) {
                return new ReloadResult(false, e.getMessage());
            }
            next = guardRunningPort(next, current);
            List<HostBanBridge> oldBridges = bridges;
            List<HostBanBridge> newBridges = null;
            if (!java.util.Objects.equals(next.bridge(), current.bridge())) {
                try {
                    // New bridges run alongside the old ones for a moment; both only mirror bans.
                    newBridges = startBridges(next);
                } catch (StartupException e) {
                    prepared.abandon();
                    return new ReloadResult(false, e.getMessage());
                }
            }
            engine.reconfigure(next.jail());
            prepared.commit();
            if (newBridges != null) {
                bridges = newBridges;
                stopBridges(oldBridges);
            }
            for (HostBanBridge b : bridges) {
                b.jailReconfigured(); // e.g. the nftables bridge's ignoreip exemptions follow the new jail
            }
            config = next;
            String msg = "reloaded " + next.sourceName() + ": maxretry " + next.jail().maxRetry() + ", findtime "
                    + FailDuration.format(next.jail().findTime()) + ", bantime " + FailDuration.format(next.jail().banTime());
            if (!needRestart.isEmpty()) {
                msg += "; changes to " + String.join(", ", needRestart) + " take effect after a restart";
            }
            LOG.info(msg);
            return new ReloadResult(true, msg);
        }
    }

    /**
     * A reload cannot move the listener (listen.* needs a restart), so an nftables bridge whose
     * port follows listen.port keeps guarding the port the listener is still bound to: a reload that
     * only changed listen.port must not move the bans to a port nothing listens on yet.
     */
    private static TlsjailConfig guardRunningPort(TlsjailConfig next, TlsjailConfig current) {
        NftablesBridgeConfig nft = next.bridge().nftables();
        int runningPort = current.listen().port();
        if (nft == null || runningPort < 1 || next.listen().port() == runningPort || nft.port() != next.listen().port()) {
            return next;
        }
        BridgeConfig b = next.bridge();
        return next.withBridge(new BridgeConfig(b.fail2ban(), nft.withPort(runningPort), b.haproxy()));
    }

    /** Reopens the Fail2Ban log (creating it at once if rotation renamed it away); null message = failed. */
    ReloadResult reopenLog() {
        try {
            String fault = front.reopenLog();
            return fault == null ? new ReloadResult(true, "reopened " + config.fail2banLog().path())
                    : new ReloadResult(false, fault);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new ReloadResult(false, "interrupted");
        }
    }

    String status() {
        TlsjailConfig c = config;
        EngineStats s = engine.stats();
        JailConfig j = c.jail();
        StringBuilder sb = new StringBuilder();
        sb.append("tlsjail is running (pid ").append(ProcessHandle.current().pid()).append(")\n");
        sb.append("listen:          ").append(Addresses.format(c.listen().address())).append(':').append(front.port()).append('\n');
        sb.append("config:          ").append(c.sourceName()).append('\n');
        sb.append("state-dir:       ").append(c.stateDir()).append('\n');
        sb.append("fail2ban-log:    ").append(c.fail2banLog().path()).append('\n');
        if (metrics != null) {
            sb.append("metrics:         http://")
                    .append(new org.tlsjail.config.MetricsSection(c.metrics().host(), metrics.port()).listen())
                    .append("/metrics\n");
        }
        sb.append("jail:            maxretry ").append(j.maxRetry()).append(", findtime ")
                .append(FailDuration.format(j.findTime())).append(", bantime ").append(FailDuration.format(j.banTime()))
                .append('\n');
        sb.append("active bans:     ").append(s.activeBans()).append('\n');
        sb.append("tracked sources: ").append(s.trackedKeys()).append('\n');
        sb.append("failures:        ").append(s.failures()).append('\n');
        sb.append("bans total:      ").append(s.bans()).append('\n');
        sb.append("unbans total:    ").append(s.unbans()).append('\n');
        sb.append("journal skipped: ").append(journal.skippedRecords()).append(" record(s) at start\n");
        front.appendStatus(sb);
        for (HostBanBridge b : bridges) {
            sb.append("bridge:          ").append(b.status().summary()).append('\n');
        }
        if (cluster != null) {
            ClusterStatusText.append(sb, cluster.status());
        }
        return sb.toString();
    }

    List<BanRecord> banned() {
        return engine.banned();
    }

    boolean isStarted() {
        return started;
    }

    /** The cluster node that decided the ban on {@code key} ("" when not in cluster mode). */
    String originOf(SourceKey key) {
        org.tlsjail.cluster.ClusterNode c = cluster;
        if (c == null) {
            return "";
        }
        String o = c.originOf(key);
        return o == null ? c.nodeName() : o;
    }

    ManualBans manualBans() {
        return manualBans;
    }

    int unbanAll() {
        return engine.unbanAll();
    }

    JailConfig jail() {
        return config.jail();
    }
}
