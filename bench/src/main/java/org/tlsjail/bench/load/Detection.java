package org.tlsjail.bench.load;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.tlsjail.bench.SyntheticAddresses;
import org.tlsjail.bench.report.RatioRow;
import org.tlsjail.bench.report.ReportPart;

/**
 * (c) Detection: one attacker makes back-to-back failing handshakes (no client certificate).
 * Against tlsjail (maxretry 3): how many handshakes the server still performs after the third
 * failure. Against real Fail2Ban reading tlsjail's log (OS4X filter, polling backend, dummy
 * action, tlsjail's own banning off with maxretry 1000): how many failures reach the log before
 * Fail2Ban bans, and how long after the third.
 */
public final class Detection implements ReportPart {
    static final int MAX_RETRY = 3;
    private static final InetAddress TLSJAIL_ATTACKER = SyntheticAddresses.v4(0x7F09_0001); // 127.9.0.1
    private static final InetAddress FAIL2BAN_ATTACKER = SyntheticAddresses.v4(0x7F09_0002); // 127.9.0.2

    /** tlsjail's side. */
    public record InProcess(int attempts, int handshakesBeforeBan, int handshakesAfterMaxretry, int refused,
                            double millisToFirstRefusal, List<Integer> handshakeAttempts) {
    }

    /** Fail2Ban's side; {@code banned} false if it did not ban within the time limit. */
    public record WithFail2Ban(boolean banned, int attemptsBeforeBan, int logLinesAtBan, double secondsAfterMaxretry,
                               String skipped) {
    }

    private final BenchPki pki;
    private final Path work;
    private final int attempts;
    private final double warmupSeconds;
    private final double fail2banLimitSeconds;
    private InProcess inProcess;
    private WithFail2Ban fail2ban;

    /** {@code fail2banLimitSeconds <= 0} skips the Fail2Ban comparison. */
    public Detection(BenchPki pki, Path work, int attempts, double fail2banLimitSeconds, double warmupSeconds) {
        this.warmupSeconds = warmupSeconds;
        this.pki = pki;
        this.work = work;
        this.attempts = attempts;
        this.fail2banLimitSeconds = fail2banLimitSeconds;
    }

    public Detection run() throws Exception {
        try (ServerProcess jail = ServerProcess.java("tlsjail", pki, "-Dbench.maxretry=" + MAX_RETRY,
                "-Dbench.f2blog=" + work.resolve("detection-fail2ban.log").toAbsolutePath())) {
            warmUp(jail);
            HandshakeClient attacker = new HandshakeClient(pki, false, new InetSocketAddress("127.0.0.1", jail.port()));
            int performed = 0;
            int after = 0;
            int refused = 0;
            long t0 = System.nanoTime();
            double firstRefusal = Double.NaN;
            List<Integer> handshaken = new ArrayList<>();
            for (int i = 1; i <= attempts; i++) {
                HandshakeClient.Outcome o = attacker.attempt(TLSJAIL_ATTACKER);
                if (o == HandshakeClient.Outcome.REFUSED) {
                    refused++;
                    if (Double.isNaN(firstRefusal)) {
                        firstRefusal = (System.nanoTime() - t0) / 1e6;
                    }
                } else {
                    handshaken.add(i);
                    performed++;
                    if (i > MAX_RETRY) {
                        after++;
                    }
                }
            }
            inProcess = new InProcess(attempts, performed - after, after, refused, firstRefusal, handshaken);
        }
        if (fail2banLimitSeconds <= 0) {
            fail2ban = new WithFail2Ban(false, 0, 0, Double.NaN, "not run (smoke run)");
        } else if (!Fail2BanJail.installed()) {
            fail2ban = new WithFail2Ban(false, 0, 0, Double.NaN, "fail2ban-server is not installed (Debian package fail2ban)");
        } else {
            fail2ban = againstFail2Ban();
        }
        return this;
    }

    private WithFail2Ban againstFail2Ban() throws Exception {
        Path dir = work.resolve("fail2ban");
        if (Files.exists(dir)) {
            try (var paths = Files.walk(dir)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        Files.createDirectories(dir);
        Path log = dir.resolve("tlsjail-fail2ban.log").toAbsolutePath();
        try (ServerProcess jail = ServerProcess.java("tlsjail", pki, "-Dbench.maxretry=1000", "-Dbench.f2blog=" + log);
             Fail2BanJail f2b = Fail2BanJail.start(dir.resolve("conf").toAbsolutePath(), log)) {
            warmUp(jail);
            HandshakeClient attacker = new HandshakeClient(pki, false, new InetSocketAddress("127.0.0.1", jail.port()));
            String ip = FAIL2BAN_ATTACKER.getHostAddress();
            long start = System.nanoTime();
            long limit = start + (long) (fail2banLimitSeconds * 1e9);
            long thirdDone = 0;
            int n = 0;
            while (System.nanoTime() < limit) {
                attacker.attempt(FAIL2BAN_ATTACKER);
                n++;
                if (n == MAX_RETRY) {
                    thirdDone = System.nanoTime();
                }
                if (f2b.banned(ip)) {
                    long at = System.nanoTime();
                    return new WithFail2Ban(true, n, linesFrom(log, ip), (at - thirdDone) / 1e9, null);
                }
            }
            return new WithFail2Ban(false, n, linesFrom(log, ip), Double.NaN, null);
        }
    }

    /** A production-like, warmed-up server: legitimate handshakes (which never count as failures) for a while. */
    private void warmUp(ServerProcess jail) throws Exception {
        HandshakeClient legit = new HandshakeClient(pki, true, new InetSocketAddress("127.0.0.1", jail.port()));
        try (HandshakeLoad load = new HandshakeLoad(legit, new LoopbackSources(0, 1), 2, 0).start()) {
            Thread.sleep((long) (warmupSeconds * 1000));
        }
    }

    private static int linesFrom(Path log, String ip) throws IOException {
        String needle = " from " + ip + ":";
        int n = 0;
        for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
            if (line.contains(needle)) {
                n++;
            }
        }
        return n;
    }

    @Override
    public List<RatioRow> ratios() {
        List<RatioRow> rows = new ArrayList<>();
        if (inProcess != null) {
            rows.add(new RatioRow("(c) Handshakes tlsjail performs for an attacker after its maxretry-th (3rd) failure",
                    Integer.toString(inProcess.handshakesAfterMaxretry()), "0", inProcess.handshakesAfterMaxretry() == 0));
        }
        if (fail2ban != null && fail2ban.skipped() == null) {
            rows.add(new RatioRow("(c) Same attacker, Fail2Ban on tlsjail's log: failures logged before the ban (extra after the 3rd)",
                    fail2ban.banned()
                            ? String.format(Locale.ROOT, "%d (+%d), ban %.2f s after the 3rd", fail2ban.logLinesAtBan(),
                                    fail2ban.logLinesAtBan() - MAX_RETRY, fail2ban.secondsAfterMaxretry())
                            : String.format(Locale.ROOT, "no ban within %.0f s (%d failures logged)", fail2banLimitSeconds, fail2ban.logLinesAtBan()),
                    "comparison", null));
        }
        return rows;
    }

    @Override
    public String details() {
        StringBuilder sb = new StringBuilder("### (c) Detection: back-to-back failing handshakes from one attacker\n\n");
        if (inProcess != null) {
            sb.append(String.format(Locale.ROOT, "tlsjail (maxretry 3, in-process engine, after %.0f s of legitimate handshakes to warm it up): %d attempts from %s; the server sent its "
                    + "certificate (did the handshake) %d times before the ban and %d times after the 3rd failure; %d attempts "
                    + "were refused without any TLS bytes, the first %.0f ms after the first attempt. Attempts the server did a "
                    + "handshake for: %s.%n%n",
                    warmupSeconds, inProcess.attempts(), TLSJAIL_ATTACKER.getHostAddress(), inProcess.handshakesBeforeBan(),
                    inProcess.handshakesAfterMaxretry(), inProcess.refused(), inProcess.millisToFirstRefusal(),
                    inProcess.handshakeAttempts()));
        }
        if (fail2ban != null) {
            if (fail2ban.skipped() != null) {
                sb.append("Fail2Ban comparison skipped: ").append(fail2ban.skipped()).append(".\n");
            } else {
                sb.append(String.format(Locale.ROOT, "Fail2Ban (the Debian package's fail2ban-server, OS4X's filter and jail values, "
                        + "backend = polling, action = dummy, reading the log tlsjail writes with its own banning off): the attacker "
                        + "%s made %d failing handshakes before the dummy action recorded the ban; %d lines from it were in the log "
                        + "at that moment; the ban came %.2f s after the 3rd failure. Fail2Ban's ban does not stop anything by "
                        + "itself (its action would add a firewall rule), so these failures are what reaches the service before "
                        + "host-level banning can start.%n", FAIL2BAN_ATTACKER.getHostAddress(), fail2ban.attemptsBeforeBan(),
                        fail2ban.logLinesAtBan(), fail2ban.secondsAfterMaxretry()));
            }
        }
        return sb.toString();
    }
}
