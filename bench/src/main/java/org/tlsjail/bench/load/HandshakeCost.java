package org.tlsjail.bench.load;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.tlsjail.bench.report.RatioRow;
import org.tlsjail.bench.report.ReportPart;

/**
 * (d) Full mutual-TLS handshakes per second and server CPU per handshake: the same minimal
 * server on Bouncy Castle JSSE and on SunJSSE, and {@code openssl s_server} with the same keys.
 * The client (SunJSSE, RSA 2048 client certificate) is the same for all and runs in this JVM,
 * sharing the machine's cores with the server; server CPU is the server process's own.
 */
public final class HandshakeCost implements ReportPart {
    /** One server's figures. */
    public record Figure(String server, long handshakes, double seconds, long serverCpuNanos, long failed) {
        double perSecond() {
            return handshakes / seconds;
        }

        double cpuMillisPerHandshake() {
            return serverCpuNanos / 1e6 / Math.max(1, handshakes);
        }
    }

    private final BenchPki pki;
    private final double warmupSeconds;
    private final double measureSeconds;
    private final int clientThreads;
    private final List<Figure> figures = new ArrayList<>();

    public HandshakeCost(BenchPki pki, double warmupSeconds, double measureSeconds, int clientThreads) {
        this.pki = pki;
        this.warmupSeconds = warmupSeconds;
        this.measureSeconds = measureSeconds;
        this.clientThreads = clientThreads;
    }

    public HandshakeCost run() throws Exception {
        try (ServerProcess s = ServerProcess.java("mini-bcjsse", pki)) {
            figures.add(measure("minimal server, BC JSSE", s));
        }
        try (ServerProcess s = ServerProcess.java("mini-sunjsse", pki)) {
            figures.add(measure("minimal server, SunJSSE", s));
        }
        try (ServerProcess s = ServerProcess.opensslServer(pki)) {
            figures.add(measure("openssl s_server", s));
        }
        return this;
    }

    public List<Figure> figures() {
        return figures;
    }

    private Figure measure(String name, ServerProcess server) throws Exception {
        HandshakeClient client = new HandshakeClient(pki, true, new InetSocketAddress("127.0.0.1", server.port()));
        // openssl s_server serves one connection at a time: more clients only queue
        int threads = server.name().startsWith("openssl") ? 1 : clientThreads;
        try (HandshakeLoad load = new HandshakeLoad(client, new LoopbackSources(0, 200), threads, 0).start()) {
            Thread.sleep((long) (warmupSeconds * 1000));
            load.reset();
            long cpu0 = server.cpuNanos();
            long t0 = System.nanoTime();
            Thread.sleep((long) (measureSeconds * 1000));
            long done = load.completed();
            long failed = load.failedAfterCertificate() + load.refused();
            double secs = (System.nanoTime() - t0) / 1e9;
            long cpu = server.cpuNanos() - cpu0;
            return new Figure(name, done, secs, cpu, failed);
        }
    }

    @Override
    public List<RatioRow> ratios() {
        List<RatioRow> rows = new ArrayList<>();
        Figure bc = find("minimal server, BC JSSE");
        Figure sun = find("minimal server, SunJSSE");
        Figure ossl = find("openssl s_server");
        if (bc == null || sun == null || ossl == null) {
            return rows;
        }
        rows.add(new RatioRow("(d) mTLS handshakes/s, BC JSSE vs SunJSSE (same minimal server)",
                String.format(Locale.ROOT, "%.2fx (%.0f vs %.0f /s)", bc.perSecond() / sun.perSecond(), bc.perSecond(), sun.perSecond()),
                null, null));
        rows.add(new RatioRow("(d) server CPU per mTLS handshake, BC JSSE vs SunJSSE",
                String.format(Locale.ROOT, "%.2fx (%.2f vs %.2f ms)", bc.cpuMillisPerHandshake() / sun.cpuMillisPerHandshake(),
                        bc.cpuMillisPerHandshake(), sun.cpuMillisPerHandshake()), null, null));
        rows.add(new RatioRow("(d) server CPU per mTLS handshake, BC JSSE vs openssl s_server",
                String.format(Locale.ROOT, "%.2fx (%.2f vs %.2f ms)", bc.cpuMillisPerHandshake() / ossl.cpuMillisPerHandshake(),
                        bc.cpuMillisPerHandshake(), ossl.cpuMillisPerHandshake()), null, null));
        return rows;
    }

    private Figure find(String server) {
        return figures.stream().filter(f -> f.server().equals(server)).findFirst().orElse(null);
    }

    @Override
    public String details() {
        StringBuilder sb = new StringBuilder("### (d) Handshake cost: full mutual-TLS handshakes (TLS 1.3, RSA 2048 both sides)\n\n");
        sb.append("| Server | Handshakes | Seconds | Handshakes/s | Server CPU ms/handshake | Failed |\n|---|---|---|---|---|---|\n");
        for (Figure f : figures) {
            sb.append(String.format(Locale.ROOT, "| %s | %,d | %.1f | %.0f | %.2f | %d |%n", f.server(), f.handshakes(),
                    f.seconds(), f.perSecond(), f.cpuMillisPerHandshake(), f.failed()));
        }
        sb.append(String.format(Locale.ROOT, "%nClient: SunJSSE in the harness JVM, %d threads (1 for s_server, which serves one "
                + "connection at a time), no session resumption; it shares the %d cores with the server, so handshakes/s are "
                + "bounded by both, while server CPU per handshake is the server process's own (/proc). Warm-up %.0f s, "
                + "measured %.0f s per server. The minimal server (bench `ServerMain`) accepts, hands the socket to a pool, "
                + "wraps it in an SSLSocket from an SSLContext of the named provider (BC JSSE: explicit "
                + "`BouncyCastleJsseProvider(new BouncyCastleProvider())` instances, as tlsjail's `ServerTls` builds them), needs a client certificate, reads one "
                + "byte and answers. (BC JSSE over the JDK's own JCA crypto is not measured: with it, BC JSSE 1.84 selected no "
                + "credential for this RSA server key, while over BC's crypto provider, as tlsjail runs it, it does.)%n", clientThreads, Runtime.getRuntime().availableProcessors(), warmupSeconds, measureSeconds));
        return sb.toString();
    }
}
