package org.tlsjail.bench.load;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.tlsjail.bench.report.RatioRow;
import org.tlsjail.bench.report.ReportPart;
import org.tlsjail.listener.ListenerStats;
import org.tlsjail.listener.TlsListener;
import org.tlsjail.testing.ClientHellos;
import org.tlsjail.testing.NetworkNamespace;
import org.tlsjail.testing.StalledFlood;

/**
 * (e) Server flights per attacking IPv6 /64 (issue 10): the stalled-ClientHello flood from many
 * addresses of a few /64s, each address opening several connections at once, against tlsjail
 * with its default limits (the ban unit, and every per-source limit, is the /64). The /64s are
 * routed to the loopback of a network namespace this part creates (a name unique to this run,
 * always deleted afterwards); the listener and the attacker run in one JVM placed in it (the
 * {@code child} entry of {@link #main}). Without root or {@code ip}, the row says why it was not
 * measured.
 */
public final class PrefixFloodFlights implements ReportPart {
    private final Path work;
    private final int prefixes;
    private final int addresses;
    private final int perAddress;
    private final int timeoutSeconds;
    private String notMeasured;
    private int maxFlights;
    private double meanFlights;
    private int connections;
    private int resetEarly;
    private String stats = "";

    /**
     * @param prefixes       attacking /64s
     * @param addresses      addresses of each /64 that attack
     * @param perAddress     connections each address opens at once
     * @param timeoutSeconds the listener's handshake timeout (the flood lasts about that long)
     */
    public PrefixFloodFlights(Path work, int prefixes, int addresses, int perAddress, int timeoutSeconds) {
        this.work = work;
        this.prefixes = prefixes;
        this.addresses = addresses;
        this.perAddress = perAddress;
        this.timeoutSeconds = timeoutSeconds;
    }

    public PrefixFloodFlights run(BenchPki pki) throws Exception {
        notMeasured = NetworkNamespace.unavailable();
        if (notMeasured != null) {
            return this;
        }
        try (NetworkNamespace ns = NetworkNamespace.withRoutedSlash64s("tjbnch", prefixes)) {
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Dlogback.configurationFile=bench-logback.xml", "-Dbench.timeoutSeconds=" + timeoutSeconds));
            cmd.addAll(FloodResilience.DAEMON_FLAGS);
            cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), PrefixFloodFlights.class.getName(), "child",
                    pki.dir().toAbsolutePath().toString(), work.resolve("prefix-flood-fail2ban.log").toAbsolutePath().toString(),
                    String.valueOf(addresses), String.valueOf(perAddress)));
            cmd.addAll(ns.slash64s());
            Process p = new ProcessBuilder(ns.command(cmd)).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(timeoutSeconds * 3L + 60, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
            }
            List<Integer> flights = new ArrayList<>();
            for (String line : out.lines().toList()) {
                String[] f = line.split(" ", 4);
                if (f[0].equals("FLIGHTS")) {
                    flights.add(Integer.parseInt(f[2]));
                } else if (f[0].equals("DONE")) {
                    connections = Integer.parseInt(f[1]);
                    resetEarly = Integer.parseInt(f[2]);
                    stats = f.length > 3 ? f[3] : "";
                }
            }
            if (flights.size() != prefixes) {
                notMeasured = "the flood in the namespace gave no result (exit " + p.exitValue() + ")";
                return this;
            }
            maxFlights = flights.stream().mapToInt(Integer::intValue).max().orElse(0);
            meanFlights = flights.stream().mapToInt(Integer::intValue).average().orElse(0);
        } catch (IOException e) {
            // e.g. a container without the right to make namespaces: the row says so
            notMeasured = String.valueOf(e.getMessage()).lines().findFirst().orElse("network namespace setup failed");
        }
        return this;
    }

    /**
     * {@code alone <work-dir> <prefixes> <addresses> <per-address> <timeout-s>}: this part alone,
     * printing its row and details. {@code child <pki-dir> <fail2ban-log> <addresses> <per-address>
     * <net>...}: run inside the
     * namespace. Starts the listener on {@code [::]}, floods it from every address of every /64
     * ({@code <net>} is its first 64 bits, e.g. {@code 2001:db8:1:2}), waits until every flood
     * connection is over (each started handshake runs out of the client's time and is counted,
     * the /64 is banned, its waiting connections are reset) and prints {@code FLIGHTS <net> <n>}
     * per /64 and {@code DONE <connections> <reset early> <listener stats>}.
     */
    public static void main(String[] a) throws Exception {
        if (a.length == 6 && a[0].equals("alone")) {
            // this part alone: alone <work-dir> <prefixes> <addresses> <per-address> <timeout-s>
            Path work = Path.of(a[1]);
            java.nio.file.Files.createDirectories(work);
            PrefixFloodFlights f = new PrefixFloodFlights(work, Integer.parseInt(a[2]), Integer.parseInt(a[3]),
                    Integer.parseInt(a[4]), Integer.parseInt(a[5])).run(BenchPki.createIn(work.resolve("pki")));
            for (RatioRow r : f.ratios()) {
                System.out.println(r.what() + ": " + r.value() + " (target " + r.target() + ")");
            }
            System.out.println(f.details());
            return;
        }
        if (a.length < 6 || !a[0].equals("child")) {
            System.err.println("usage: PrefixFloodFlights alone <work-dir> <prefixes> <addresses> <per-address> <timeout-s>"
                    + "\n       PrefixFloodFlights child <pki-dir> <fail2ban-log> <addresses> <per-address> <net>...");
            System.exit(2);
        }
        BenchPki pki = BenchPki.createIn(Path.of(a[1]));
        int addresses = Integer.parseInt(a[3]);
        int perAddress = Integer.parseInt(a[4]);
        List<String> nets = List.of(a).subList(5, a.length);
        TlsListener listener = new TlsjailServer(FloodResilience.MAX_RETRY, null, Path.of(a[2]))
                .start(pki, new InetSocketAddress(InetAddress.getByName("::"), 0));
        InetSocketAddress target = new InetSocketAddress(InetAddress.getByName(nets.get(0) + "::1"),
                listener.localAddress().getPort());
        AtomicInteger resetEarly = new AtomicInteger();
        int opened = 0;
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (StalledFlood flood = new StalledFlood(ClientHellos.jdk())) {
            List<Future<?>> pending = new ArrayList<>();
            for (String net : nets) {
                for (int i = 0; i < addresses; i++) {
                    InetAddress source = NetworkNamespace.address(net, i);
                    for (int c = 0; c < perAddress; c++) {
                        opened++;
                        pending.add(pool.submit(() -> {
                            try {
                                flood.open(source, target);
                            } catch (IOException e) {
                                resetEarly.incrementAndGet(); // reset (over a limit) before its ClientHello went out
                            }
                            return null;
                        }));
                    }
                }
            }
            for (Future<?> f : pending) {
                f.get(60, TimeUnit.SECONDS);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(
                    3L * Integer.getInteger("bench.timeoutSeconds", 10) + 30);
            while (System.nanoTime() < deadline) {
                ListenerStats s = listener.stats();
                if (s.accepted() >= opened && s.handshakesInProgress() == 0 && flood.openConnections() == 0) {
                    break;
                }
                Thread.sleep(100);
            }
            for (String net : nets) {
                int sum = 0;
                for (int i = 0; i < addresses; i++) {
                    sum += flood.flights(NetworkNamespace.address(net, i));
                }
                System.out.println("FLIGHTS " + net + " " + sum);
            }
            System.out.println("DONE " + opened + " " + resetEarly.get() + " " + listener.stats());
        } finally {
            pool.shutdownNow();
            listener.close();
        }
        System.out.flush();
        System.exit(0);
    }

    private String what() {
        return "(e) Server flights per attacking IPv6 /64 (" + addresses + " addresses x " + perAddress
                + " parallel connections)";
    }

    @Override
    public List<RatioRow> ratios() {
        String target = "<= maxretry (" + FloodResilience.MAX_RETRY + ")";
        if (notMeasured != null) {
            return List.of(new RatioRow(what(), "not measured (" + notMeasured + ")", target, null));
        }
        return List.of(new RatioRow(what(), String.format(Locale.ROOT, "max %d, mean %.2f", maxFlights, meanFlights),
                target, maxFlights <= FloodResilience.MAX_RETRY));
    }

    @Override
    public String details() {
        String head = "### (e) Flood resilience: many addresses of one IPv6 /64\n\n";
        if (notMeasured != null) {
            return head + "Not measured: " + notMeasured + ".\n";
        }
        return head + String.format(Locale.ROOT, "Flood: %d /64s x %d addresses x %d connections (%d in all; %d reset"
                        + " before their ClientHello went out), each a whole ClientHello (JDK client) and then nothing,"
                        + " from addresses spread over each /64, opened from 8 threads; jail defaults (ban unit: the /64),"
                        + " listener defaults but handshake timeout %d s; maxretry %d. Server flights (bytes back) per /64:"
                        + " max %d, mean %.2f. The /64s are routed to the loopback of a network namespace the bench creates;"
                        + " listener and attacker run in one JVM in it with the daemon flags. Listener afterwards: %s.%n",
                prefixes, addresses, perAddress, connections, resetEarly, timeoutSeconds, FloodResilience.MAX_RETRY,
                maxFlights, meanFlights, stats);
    }
}
