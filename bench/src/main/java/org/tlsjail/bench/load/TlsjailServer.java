package org.tlsjail.bench.load;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.fail2banlog.Fail2BanLog;
import org.tlsjail.fail2banlog.Fail2BanLogConfig;
import org.tlsjail.listener.ListenerConfig;
import org.tlsjail.listener.TlsListener;
import org.tlsjail.tls.KeySource;
import org.tlsjail.tls.ServerTls;
import org.tlsjail.tls.TlsSettings;
import org.tlsjail.tls.TrustSource;

/**
 * tlsjail's real listener as a server under test: the bench keys, client certificate required,
 * its ban engine (jail defaults but {@code maxretry}) with the sweeper running, and its Fail2Ban
 * log, and the daemon's metrics observer (not served). The application handler reads one byte and answers {@code ok}, like the minimal servers.
 *
 * @param maxRetry    the jail's maxretry (a very large value turns in-process banning off)
 * @param banned      sources banned before the listener starts
 * @param fail2banLog where the listener writes its Fail2Ban log
 */
record TlsjailServer(int maxRetry, LoopbackSources banned, Path fail2banLog) {

    /** Builds and starts the listener on 127.0.0.1, an ephemeral port; never returns until exit. */
    TlsListener start(BenchPki pki) throws IOException {
        return start(pki, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }

    /** As {@link #start(BenchPki)}, bound to {@code bind} (e.g. {@code [::]} inside a network namespace). */
    TlsListener start(BenchPki pki, InetSocketAddress bind) throws IOException {
        InstantSource clock = InstantSource.system();
        BanEngine engine = new BanEngine(JailConfig.builder().maxRetry(maxRetry).build(), clock);
        engine.startSweeper();
        if (banned != null) {
            for (int i = 0; i < banned.size(); i++) {
                engine.ban(banned.get(i), Duration.ofHours(10), "bench");
            }
        }
        String cluster = System.getProperty("bench.cluster");
        if (cluster != null) { // cluster mode (bench/run.sh's cluster part): this node joins the Redis at that URI
            try {
                org.tlsjail.cluster.ClusterNode.start(new org.tlsjail.cluster.ClusterSettings(cluster, null, null, null,
                        "bench", Duration.ofSeconds(1), "refusal-node", 100_000), engine, clock, ms -> { });
            } catch (org.tlsjail.cluster.ClusterStartException e) {
                throw new IOException(e.getMessage(), e);
            }
        }
        Fail2BanLog log = Fail2BanLog.open(Fail2BanLogConfig.of(fail2banLog.toAbsolutePath()), clock);
        ServerTls tls = ServerTls.load(TlsSettings.of(KeySource.pkcs12(pki.serverP12(), BenchPki.PASSWORD),
                TrustSource.pemBundle(pki.caPem())), clock);
        return TlsListener.builder(tls, engine, (socket, remote, chain) -> {
            if (socket.getInputStream().read() >= 0) {
                socket.getOutputStream().write("ok\n".getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
            }
        })
                .config(ListenerConfig.builder().bind(bind)
                        .backlog(ServerMain.BACKLOG)
                        .handshakeTimeout(Duration.ofSeconds(Integer.getInteger("bench.timeoutSeconds", 10)))
                        .idleThreadTimeout(Duration.ofSeconds(Integer.getInteger("bench.idleThreadSeconds", 30)))
                        .build())
                .observer(log)
                .observer(new org.tlsjail.metrics.DaemonMetrics(engine, () -> 0)) // the daemon's refusal observer
                .build()
                .start();
    }
}
