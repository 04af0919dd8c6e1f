package org.tlsjail.metrics;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;
import java.util.function.LongSupplier;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.BanListener;
import org.tlsjail.banengine.BanRecord;
import org.tlsjail.banengine.FailureOutcome;
import org.tlsjail.listener.HandshakeFailure;
import org.tlsjail.listener.HandshakeObserver;

/**
 * Prometheus metrics ({@code metrics.listen}): handshakes by outcome and reason, refused
 * connections, bans, unbans by cause, active bans, tracked sources, Fail2Ban log lines lost.
 * Observes the listener and the engine; every callback only increments a counter, as both ask.
 */
public final class DaemonMetrics implements HandshakeObserver, BanListener, AutoCloseable {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter handshakes;
    private final Counter refused;
    private final Counter bans;
    private final Counter unbans;
    private final Counter proxyHeaderFailures;
    /** One label child per refusal reason / unban cause, resolved once: a refusal allocates nothing. */
    private final CounterDataPoint[] refusedBy;
    private final CounterDataPoint[] unbansBy;
    private MetricsHttpServer server;
    private volatile io.prometheus.metrics.core.metrics.Histogram clusterLag;

    /**
     * @param logLinesLost lines the Fail2Ban log dropped or failed to write, summed since start
     */
    public DaemonMetrics(BanEngine engine, LongSupplier logLinesLost) {
        handshakes = Counter.builder().name("tlsjail_handshakes").help("TLS handshakes by outcome (ok, failed) and failure reason")
                .labelNames("outcome", "reason").register(registry);
        refused = Counter.builder().name("tlsjail_refused_connections")
                .help("Connections reset before any TLS work, by reason (banned, source-limit, total-limit,"
                        + " server-busy, untrusted-proxy)")
                .labelNames("reason").withoutExemplars().register(registry);
        proxyHeaderFailures = Counter.builder().name("tlsjail_proxy_header_failures")
                .help("Connections from a trusted balancer closed for their PROXY header, by reason (missing,"
                        + " truncated, malformed, timeout, reset); counted against nobody")
                .labelNames("reason").register(registry);
        bans = Counter.builder().name("tlsjail_bans").help("Bans made (automatic and manual)").register(registry);
        unbans = Counter.builder().name("tlsjail_unbans").help("Bans ended, by cause (expired, manual, dropped)")
                .labelNames("cause").withoutExemplars().register(registry);
        Refusal[] reasons = Refusal.values();
        refusedBy = new CounterDataPoint[reasons.length];
        for (Refusal r : reasons) {
            refusedBy[r.ordinal()] = refused.labelValues(r.name().toLowerCase(Locale.ROOT).replace('_', '-'));
        }
        UnbanCause[] causes = UnbanCause.values();
        unbansBy = new CounterDataPoint[causes.length];
        for (UnbanCause c : causes) {
            unbansBy[c.ordinal()] = unbans.labelValues(c.name().toLowerCase(Locale.ROOT));
        }
        GaugeWithCallback.builder().name("tlsjail_active_bans").help("Bans in force now")
                .callback(cb -> cb.call(engine.stats().activeBans())).register(registry);
        GaugeWithCallback.builder().name("tlsjail_tracked_sources").help("Sources with failures in their findtime window")
                .callback(cb -> cb.call(engine.stats().trackedKeys())).register(registry);
        CounterWithCallback.builder().name("tlsjail_fail2ban_log_lost_lines")
                .help("Fail2Ban log lines dropped (queue full) or not written (file fault)")
                .callback(cb -> cb.call(logLinesLost.getAsLong())).register(registry);
        handshakes.labelValues("ok", "");
    }

    /** Cluster mode: connected, events in/out, invalid entries, Redis errors, failures shared/local, lag. */
    public void observeCluster(java.util.function.Supplier<org.tlsjail.cluster.ClusterStatus> status) {
        gauge("tlsjail_cluster_connected", "1 while Redis answers and this node shares failures and bans, 0 while it works alone",
                () -> status.get().connected() ? 1 : 0);
        CounterWithCallback.builder().name("tlsjail_cluster_events")
                .help("Bans and unbans exchanged with the other nodes (in: applied here, out: announced from here)")
                .labelNames("direction").callback(cb -> {
                    org.tlsjail.cluster.ClusterStatus c = status.get();
                    cb.call(c.eventsIn(), "in");
                    cb.call(c.eventsOut(), "out");
                }).register(registry);
        counter("tlsjail_cluster_invalid_entries", "Entries read from Redis and skipped as malformed, oversized or absurd",
                () -> status.get().invalid());
        counter("tlsjail_cluster_redis_errors", "Redis requests that failed (refused, timed out, error reply)",
                () -> status.get().redisErrors());
        CounterWithCallback.builder().name("tlsjail_cluster_failures")
                .help("Failures counted in the shared window (shared) or only here (local: Redis away or queue full)")
                .labelNames("scope").callback(cb -> {
                    org.tlsjail.cluster.ClusterStatus c = status.get();
                    cb.call(c.failuresSent(), "shared");
                    cb.call(c.failuresLocal(), "local");
                }).register(registry);
        gauge("tlsjail_cluster_pending", "Failures, bans and unbans of this node waiting to be sent to Redis (queued, or parked while Redis is away)", () -> status.get().pending());
        clusterLag = io.prometheus.metrics.core.metrics.Histogram.builder().name("tlsjail_cluster_propagation_seconds")
                .help("From a ban decided on another node to the ban in force here")
                .classicUpperBounds(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
                .register(registry);
    }

    /** A ban of another node applied here {@code millis} after it was decided. */
    public void observeClusterLag(long millis) {
        io.prometheus.metrics.core.metrics.Histogram h = clusterLag;
        if (h != null) {
            h.observe(millis / 1000.0);
        }
    }

    /** Adds a gauge read at each scrape ({@code read} must be cheap and never block). */
    public void gauge(String name, String help, LongSupplier read) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(read.getAsLong())).register(registry);
    }

    /** Adds a counter read at each scrape ({@code read} must be cheap, never block, never decrease). */
    public void counter(String name, String help, LongSupplier read) {
        CounterWithCallback.builder().name(name).help(help).callback(cb -> cb.call(read.getAsLong())).register(registry);
    }

    /** Starts the HTTP endpoint ({@code /metrics}) with the default limits. */
    public void serve(String host, int port) throws IOException {
        serve(new InetSocketAddress(InetAddress.getByName(host), port), MetricsHttpServer.Limits.DEFAULT);
    }

    /** Starts the HTTP endpoint ({@code /metrics}): see {@link MetricsHttpServer} for what the limits bound. */
    public void serve(InetSocketAddress address, MetricsHttpServer.Limits limits) throws IOException {
        server = MetricsHttpServer.start(registry, address, limits);
    }

    MetricsHttpServer server() {
        return server;
    }

    public int port() {
        return server == null ? -1 : server.port();
    }

    @Override
    public void onSuccess(InetSocketAddress remote, List<X509Certificate> peerChain) {
        handshakes.labelValues("ok", "").inc();
    }

    @Override
    public void onFailure(HandshakeFailure failure, FailureOutcome outcome) {
        handshakes.labelValues("failed", failure.kind().configName()).inc();
    }

    @Override
    public void onRefused(InetAddress source, Refusal refusal) {
        refusedBy[refusal.ordinal()].inc();
    }

    @Override
    public void onProxyHeaderFailure(InetAddress balancer, String reason) {
        proxyHeaderFailures.labelValues(reason).inc();
    }

    @Override
    public void onBan(BanRecord ban) {
        bans.inc();
    }

    @Override
    public void onUnban(BanRecord ban, UnbanCause cause) {
        unbansBy[cause.ordinal()].inc();
    }

    @Override
    public void close() {
        if (server != null) {
            server.close();
        }
    }
}
