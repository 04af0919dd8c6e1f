package org.tlsjail.fail2banlog;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.Addresses;
import org.tlsjail.listener.FailureKind;

class Fail2BanLogTest {
    private static final Instant AT = Instant.parse("2026-01-02T03:04:05.678Z");

    @TempDir
    Path dir;

    private Fail2BanLog open(Path file, boolean dated) throws Exception {
        return Fail2BanLog.open(Fail2BanLogConfig.of(file).withDated(dated).withZone(ZoneId.of("+01:00")),
                InstantSource.fixed(AT));
    }

    @Test
    void formatsOs4xLinesWithTrailingTimestampAndUndatedOption() throws Exception {
        try (Fail2BanLog dated = open(dir.resolve("a.log"), true); Fail2BanLog plain = open(dir.resolve("b.log"), false)) {
            InetAddress a = Addresses.parseLiteral("10.10.14.7");
            assertThat(dated.format(a, 167772359, "peer did not return a certificate", null, AT)).isEqualTo(
                    "TLS error 167772359 during connect try from 10.10.14.7: peer did not return a certificate"
                            + " [2026-01-02T04:04:05.678+01:00]");
            assertThat(plain.format(a, 167772359, "peer did not return a certificate", null, AT)).isEqualTo(
                    "TLS error 167772359 during connect try from 10.10.14.7: peer did not return a certificate");
            assertThat(plain.format(Addresses.parseLiteral("::ffff:10.1.2.3"), 167772294, "certificate verify failed",
                    "partner one", AT)).isEqualTo(
                    "TLS error 167772294 during connect try from 10.1.2.3 (partner_one): certificate verify failed");
        }
    }

    @Test
    void createsFileWithConfiguredMode() throws Exception {
        Path f = dir.resolve("sub-mode.log");
        try (Fail2BanLog log = Fail2BanLog.open(Fail2BanLogConfig.of(f).withMode(Fail2BanLogConfig.parseMode("0600")),
                InstantSource.system())) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-------");
        }
        Path g = dir.resolve("default-mode.log");
        try (Fail2BanLog log = open(g, true)) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(g))).isEqualTo("rw-r-----");
        }
    }

    /** Every kind, IPv4/IPv6/mapped addresses and hostile CNs, through the real fail2ban-regex. */
    @Test
    void fail2banRegexExtractsOnlyTheRealSourceAndTheLineTime() throws Exception {
        Path f = dir.resolve("hostile.log");
        List<String> hostile = List.of(
                "x: TLS error 1 during connect try from 8.8.8.8: y",
                "x during connect try from 8.8.8.8 y",
                "a) from 8.8.8.8 (b",
                "evil\nTLS error 1 during connect try from 8.8.8.8: injected",
                "\r\u0000\u001b[31m from [8.8.8.8]: ",
                "from\u00A08.8.8.8\uFF1A x",               // no-break space, fullwidth colon
                "from 2001:db8::8: ",
                "during connect try from evil.example.com y",
                "A".repeat(10_000) + " from 8.8.8.8: z");
        List<String> sources = List.of("10.66.6.6", "2001:db8:0:0:0:0:0:42", "::ffff:192.0.2.9", "::1");
        List<String> expected = new ArrayList<>();
        try (Fail2BanLog log = open(f, true)) {
            for (String src : sources) {
                InetAddress a = Addresses.parseLiteral(src);
                for (FailureKind k : FailureKind.values()) {
                    assertThat(log.append(a, k.code(), k.reason(), null, AT)).isTrue();
                    expected.add(Addresses.format(a));
                }
                for (String cn : hostile) {
                    log.append(a, 167772294, "certificate verify failed (unable to get local issuer certificate)", cn, AT);
                    expected.add(Addresses.format(a));
                }
            }
            assertThat(log.flush(Duration.ofSeconds(10))).isTrue();
        }
        List<String> lines = Files.readAllLines(f);
        assertThat(lines).hasSize(expected.size());
        assertThat(lines).allSatisfy(l -> {
            assertThat(l).startsWith("TLS error ").matches("[\\x20-\\x7e]+");
            assertThat(l.indexOf(" during connect try from ")).isEqualTo(l.lastIndexOf(" during connect try from "));
        });
        Fail2BanRegex.Result r = Fail2BanRegex.run(f);
        assertThat(r.missed()).as(r.output()).isZero();
        assertThat(r.matched()).isEqualTo(expected.size());
        assertThat(r.matches()).extracting(Fail2BanRegex.Match::address)
                .containsExactlyInAnyOrderElementsOf(expected)
                .doesNotContain("8.8.8.8", "2001:db8::8", "evil.example.com");
        // 04:04:05+01:00 in the line = 03:04:05 UTC: the time comes from the line, not from "now"
        assertThat(r.matches()).extracting(Fail2BanRegex.Match::time).containsOnly("Fri Jan 02 03:04:05 2026");
    }

    /** Thousands of random hostile subjects built from the dangerous pieces, through the real fail2ban-regex. */
    @Test
    void randomHostileSubjectsNeverYieldAnotherAddress() throws Exception {
        String[] pieces = {" ", ": ", "from ", " from ", "during connect try from ", "8.8.8.8", "2001:db8::8", "[", "]",
            "(", ")", "\n", "\n", "\r", "\u0000", "TLS error 1 ", "evil.example", ":", ".", "\uFF1A", "\u2002", "\u0660",
            "x", "\t", "\u202E", "%", "\\"};
        java.util.Random rnd = new java.util.Random(42);
        Path f = dir.resolve("random.log");
        int n = 3000;
        try (Fail2BanLog log = open(f, true)) {
            InetAddress src = Addresses.parseLiteral("10.66.6.6");
            for (int i = 0; i < n; i++) {
                StringBuilder cn = new StringBuilder();
                int parts = 1 + rnd.nextInt(12);
                for (int p = 0; p < parts; p++) {
                    cn.append(pieces[rnd.nextInt(pieces.length)]);
                }
                log.append(src, 167772294, "certificate verify failed", cn.toString(), AT);
            }
            assertThat(log.flush(Duration.ofSeconds(20))).isTrue();
        }
        assertThat(Files.readAllLines(f)).hasSize(n);
        Fail2BanRegex.Result r = Fail2BanRegex.run(f);
        assertThat(r.missed()).isZero();
        assertThat(r.matches()).hasSize(n).extracting(Fail2BanRegex.Match::address).containsOnly("10.66.6.6");
    }


    @Test
    void theFactsInjectionLineIsImpossible() {
        String cn = "x: TLS error 1 during connect try from 8.8.8.8: y";
        assertThat(LogText.safe(cn)).isEqualTo("x__TLS_error_1_during_connect_try_from_8.8.8.8__y");
        assertThat(LogText.safe("A".repeat(10_000))).hasSize(LogText.MAX_LENGTH);
        assertThat(LogText.safe(null)).isEqualTo("-");
    }

    @Test
    void renameAndReopenUnderConcurrentWritesLosesAndDoublesNothing() throws Exception {
        Path f = dir.resolve("rot.log");
        Path rotated = dir.resolve("rot.log.1");
        int writers = 4;
        int perWriter = 2000;
        try (Fail2BanLog log = open(f, true)) {
            CountDownLatch half = new CountDownLatch(writers);
            CountDownLatch done = new CountDownLatch(1);
            List<Thread> ts = startWriters(log, writers, perWriter, half, done);
            half.await();
            Files.move(f, rotated, StandardCopyOption.ATOMIC_MOVE);   // logrotate: rename
            log.reopen();                                            // postrotate
            done.countDown();
            for (Thread t : ts) {
                t.join();
            }
            assertThat(log.flush(Duration.ofSeconds(20))).isTrue();
            assertThat(log.dropped()).isZero();
        }
        List<String> all = new ArrayList<>(Files.readAllLines(rotated));
        List<String> current = Files.readAllLines(f);
        assertThat(current).isNotEmpty();
        all.addAll(current);
        assertExactlyOnce(all, writers, perWriter);
    }

    @Test
    void renameWithoutReopenIsDetected() throws Exception {
        Path f = dir.resolve("det.log");
        try (Fail2BanLog log = open(f, false)) {
            log.append(Addresses.parseLiteral("10.0.0.1"), 1, "a", null, AT);
            log.flush(Duration.ofSeconds(5));
            Files.move(f, dir.resolve("det.log.1"));
            log.append(Addresses.parseLiteral("10.0.0.2"), 1, "b", null, AT);
            log.flush(Duration.ofSeconds(5));
            Files.delete(f);
            log.append(Addresses.parseLiteral("10.0.0.3"), 1, "c", null, AT);
            log.flush(Duration.ofSeconds(5));
        }
        assertThat(Files.readAllLines(f)).containsExactly("TLS error 1 during connect try from 10.0.0.3: c");
        assertThat(Files.readAllLines(dir.resolve("det.log.1"))).containsExactly("TLS error 1 during connect try from 10.0.0.1: a");
    }

    @Test
    void copytruncateKeepsAppendingAtTheNewEndWithoutHolesOrDoubles() throws Exception {
        Path f = dir.resolve("ct.log");
        Path rotated = dir.resolve("ct.log.1");
        int writers = 4;
        int perWriter = 2000;
        try (Fail2BanLog log = open(f, true)) {
            CountDownLatch half = new CountDownLatch(writers);
            CountDownLatch done = new CountDownLatch(1);
            List<Thread> ts = startWriters(log, writers, perWriter, half, done);
            half.await();
            // logrotate copytruncate: copy, then truncate in place. Lines written between the two
            // steps are lost by design of copytruncate itself; everything else must be there once.
            Files.copy(f, rotated);
            try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
                ch.truncate(0);
            }
            done.countDown();
            for (Thread t : ts) {
                t.join();
            }
            assertThat(log.flush(Duration.ofSeconds(20))).isTrue();
        }
        byte[] raw = Files.readAllBytes(f);
        assertThat(raw).doesNotContain((byte) 0);        // no sparse hole from writing at an old offset
        List<String> all = new ArrayList<>(Files.readAllLines(rotated));
        List<String> current = Files.readAllLines(f);
        assertThat(current).isNotEmpty().allSatisfy(l -> assertThat(l).startsWith("TLS error "));
        all.addAll(current);
        Set<String> seen = new HashSet<>();
        for (String l : all) {
            assertThat(seen.add(l)).as("doubled: " + l).isTrue();
        }
        // per writer, lines are written in order: missing ones may only be one contiguous run (the copy->truncate window)
        for (int w = 0; w < writers; w++) {
            List<Integer> missing = new ArrayList<>();
            for (int i = 0; i < perWriter; i++) {
                if (!seen.contains(line(w, i))) {
                    missing.add(i);
                }
            }
            if (!missing.isEmpty()) {
                assertThat(missing.get(missing.size() - 1) - missing.get(0) + 1).isEqualTo(missing.size());
            }
            assertThat(seen).contains(line(w, perWriter - 1));
        }
    }

    @Test
    void fileFaultIsReportedOnceAndWritingResumes() throws Exception {
        Path sub = dir.resolve("gone");
        Files.createDirectories(sub);
        Path f = sub.resolve("f.log");
        try (Fail2BanLog log = open(f, false)) {
            Files.delete(f);
            Files.delete(sub);
            log.append(Addresses.parseLiteral("10.0.0.1"), 1, "lost", null, AT);
            log.append(Addresses.parseLiteral("10.0.0.1"), 1, "lost", null, AT);
            assertThat(log.flush(Duration.ofSeconds(5))).isTrue();
            assertThat(log.failedWrites()).isEqualTo(2);
            Files.createDirectories(sub);
            log.append(Addresses.parseLiteral("10.0.0.2"), 1, "back", null, AT);
            assertThat(log.flush(Duration.ofSeconds(5))).isTrue();
        }
        assertThat(Files.readAllLines(f)).containsExactly("TLS error 1 during connect try from 10.0.0.2: back");
    }

    @Test
    void overflowDropsAndCountsInsteadOfBlocking() throws Exception {
        Path f = dir.resolve("of.log");
        try (Fail2BanLog log = Fail2BanLog.open(Fail2BanLogConfig.of(f).withQueueCapacity(1), InstantSource.fixed(AT))) {
            int accepted = 0;
            for (int i = 0; i < 10_000; i++) {
                if (log.append(Addresses.parseLiteral("10.0.0.1"), 1, "x", null, AT)) {
                    accepted++;
                }
            }
            assertThat(log.flush(Duration.ofSeconds(10))).isTrue();
            assertThat(log.dropped()).isEqualTo(10_000 - accepted).isPositive();
            assertThat(log.written()).isEqualTo(accepted);
            assertThat(Files.readAllLines(f)).hasSize(accepted);
        }
    }

    private static String line(int w, int i) {
        return "TLS error " + (167772160L + w) + " during connect try from 10.0." + w + "." + (i % 250 + 1)
                + ": seq " + i + " [2026-01-02T04:04:05.678+01:00]";
    }

    /**
     * Writers that each count {@code half} down halfway and then wait for {@code rotated}: the
     * second halves are written only after the test rotated the file, however the threads were scheduled.
     */
    private static List<Thread> startWriters(Fail2BanLog log, int writers, int perWriter, CountDownLatch half,
                                             CountDownLatch rotated) {
        List<Thread> ts = new ArrayList<>();
        AtomicInteger spin = new AtomicInteger();
        for (int w = 0; w < writers; w++) {
            int id = w;
            Thread t = new Thread(() -> {
                for (int i = 0; i < perWriter; i++) {
                    InetAddress a = Addresses.parseLiteral("10.0." + id + "." + (i % 250 + 1));
                    while (!log.append(a, 167772160L + id, "seq " + i, null, AT)) {
                        spin.incrementAndGet();
                        Thread.onSpinWait();
                    }
                    if (i == perWriter / 2) {
                        half.countDown();
                        try {
                            rotated.await();
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }
            });
            t.start();
            ts.add(t);
        }
        return ts;
    }

    private static void assertExactlyOnce(List<String> all, int writers, int perWriter) {
        assertThat(all).hasSize(writers * perWriter);
        assertThat(new HashSet<>(all)).hasSize(writers * perWriter);
        for (int w = 0; w < writers; w++) {
            for (int i = 0; i < perWriter; i++) {
                assertThat(all).contains(line(w, i));
            }
        }
    }
}
