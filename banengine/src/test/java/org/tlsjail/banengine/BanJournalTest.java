package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.tlsjail.banengine.Ips.ip;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BanJournalTest {
    @TempDir
    Path dir;
    private final ManualClock clock = new ManualClock();

    private BanEngine engineWithJournal(Path file) throws IOException {
        BanEngine engine = new BanEngine(JailConfig.defaults(), clock);
        BanJournal journal = BanJournal.open(file, clock);
        journal.restoreInto(engine);
        engine.addListener(journal);
        return engine;
    }

    @Test
    void restoresAfterACleanStopWithOriginalTimes() throws IOException {
        Path file = dir.resolve("bans.journal");
        BanEngine first = engineWithJournal(file);
        for (int i = 0; i < 3; i++) {
            first.recordFailure(ip("192.0.2.1"), 1, "peer did not return a certificate");
        }
        first.ban(ip("2001:db8:7:7::1"), FailDuration.PERMANENT, "manual");
        first.ban(ip("192.0.2.2"), Duration.ofMinutes(5), null);
        first.ban(ip("192.0.2.3"), Duration.ofMinutes(5), null);
        first.unban(ip("192.0.2.3"));
        List<BanRecord> before = first.banned();

        clock.advance(Duration.ofMinutes(1));
        BanEngine second = engineWithJournal(file);
        assertThat(second.banned()).containsExactlyInAnyOrderElementsOf(before);
        assertThat(second.isBanned(ip("192.0.2.3"))).isFalse();
        assertThat(second.isBanned(ip("2001:db8:7:7::abcd"))).isTrue();
        assertThat(second.banOf(ip("192.0.2.1")).reason()).isEqualTo("peer did not return a certificate");
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    }

    @Test
    void expiredBansAreNotRestored() throws IOException {
        Path file = dir.resolve("bans.journal");
        BanEngine first = engineWithJournal(file);
        first.ban(ip("192.0.2.2"), Duration.ofMinutes(5), null);
        first.ban(ip("192.0.2.4"), Duration.ofHours(5), null);
        clock.advance(Duration.ofMinutes(5));
        BanJournal journal = BanJournal.open(file, clock);
        assertThat(journal.replayReport().expired()).isEqualTo(1);
        assertThat(journal.replayReport().restorable()).extracting(r -> r.key().toString()).containsExactly("192.0.2.4");
    }

    @Test
    void truncatedInTheMiddleOfARecordLosesOnlyThatRecord() throws IOException {
        Path file = dir.resolve("bans.journal");
        BanEngine first = engineWithJournal(file);
        first.ban(ip("192.0.2.10"), Duration.ofHours(1), null);
        first.ban(ip("192.0.2.11"), Duration.ofHours(1), null);
        byte[] all = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(all, all.length - 7)); // torn last line

        BanJournal journal = BanJournal.open(file, clock);
        assertThat(journal.replayReport().corruptLines()).isEqualTo(1);
        assertThat(journal.replayReport().restorable()).extracting(r -> r.key().toString()).containsExactly("192.0.2.10");

        // the torn tail is gone, so what is appended next is read back intact
        BanEngine second = new BanEngine(JailConfig.defaults(), clock);
        journal.restoreInto(second);
        second.addListener(journal);
        second.ban(ip("192.0.2.12"), Duration.ofHours(1), null);
        BanJournal third = BanJournal.open(file, clock);
        assertThat(third.replayReport().corruptLines()).isZero();
        assertThat(third.replayReport().restorable()).extracting(r -> r.key().toString())
                .containsExactly("192.0.2.10", "192.0.2.12");
    }

    @Test
    void garbageAppendedIsReportedAndSkippedNeverFatal() throws IOException {
        Path file = dir.resolve("bans.journal");
        BanEngine first = engineWithJournal(file);
        first.ban(ip("192.0.2.20"), Duration.ofHours(1), null);
        byte[] junk = new byte[20_000];
        new Random(7).nextBytes(junk);
        Files.write(file, junk, StandardOpenOption.APPEND);
        Files.write(file, "B 192.0.2.21 1 999999999999999 1 forged #00000000\n".getBytes(StandardCharsets.US_ASCII),
                StandardOpenOption.APPEND);

        BanJournal journal = BanJournal.open(file, clock);
        assertThat(journal.replayReport().corruptLines()).isGreaterThan(0);
        assertThat(journal.replayReport().firstProblem()).isNotBlank();
        assertThat(journal.replayReport().restorable()).extracting(r -> r.key().toString()).containsExactly("192.0.2.20");
    }

    @Test
    void compactionKeepsOnlyLiveBans() throws IOException {
        Path file = dir.resolve("bans.journal");
        BanEngine engine = engineWithJournal(file);
        for (int i = 0; i < 1200; i++) {
            engine.ban(Ips.v4(i % 10), Duration.ofHours(1), null);
            engine.unban(Ips.v4(i % 10));
        }
        engine.ban(ip("192.0.2.30"), Duration.ofHours(1), null);
        long lines = Files.readAllLines(file).size();
        assertThat(lines).isLessThan(1200);
        assertThat(BanJournal.open(file, clock).replayReport().restorable()).hasSize(1);
    }

    @Test
    void missingFileIsAnEmptyJournal() throws IOException {
        BanJournal journal = BanJournal.open(dir.resolve("sub/dir/bans.journal"), clock);
        assertThat(journal.replayReport().restorable()).isEmpty();
        assertThat(dir.resolve("sub/dir/bans.journal")).exists();
    }
}
