package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.tlsjail.banengine.Ips.ip;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Journals written by someone else: records with a correct CRC (a CRC is no signature, anyone
 * can compute it) that say impossible things, garbage, overlong lines, links; and a journal of
 * a million records, whose replay must stay within bounded memory.
 */
class BanJournalHostileTest {
    @TempDir
    Path dir;
    private final ManualClock clock = new ManualClock();

    private String line(String body) {
        return BanJournal.seal(body) + "\n";
    }

    @Test
    void forgedRecordsAreSkippedAndCountedAndStartSucceeds() throws IOException {
        long now = clock.millis();
        long hour = 3_600_000;
        StringBuilder sb = new StringBuilder();
        sb.append(line("B 192.0.2.1 " + now + " " + (now + hour) + " 1 good"));
        sb.append(line("B 192.0.2.2 " + now + " " + (now + hour) + " -5 negative-count"));
        sb.append(line("B 192.0.2.3 " + now + " " + (now + hour) + " 0 zero-count"));
        sb.append(line("B 127.0.0.0/8 " + now + " " + (now + hour) + " 1 wide-prefix-no-effect"));
        sb.append(line("B 0.0.0.0/0 " + now + " " + (now + hour) + " 1 everything"));
        sb.append(line("B ::/0 " + now + " " + (now + hour) + " 1 everything-v6"));
        sb.append(line("B 2001:db8::/32 " + now + " " + (now + hour) + " 1 not-the-v6-unit"));
        sb.append(line("B 192.0.2.4 " + now + " 253402300799000 1 year-9999"));
        sb.append(line("B 192.0.2.5 " + now + " " + Long.MAX_VALUE + " 1 long-max"));
        sb.append(line("B 192.0.2.6 " + now + " 99999999999999999999999 1 overflow"));
        sb.append(line("B 192.0.2.7 " + (now + 30L * 86_400_000) + " " + (now + 31L * 86_400_000) + " 1 future-start"));
        sb.append(line("B 192.0.2.8 -7 " + (now + hour) + " 1 negative-start"));
        sb.append(line("B 192.0.2.9 " + now + " " + (now - 5) + " 1 ends-before-start"));
        sb.append(line("B 192.0.2.10 " + now + " -2 1 negative-end"));
        sb.append(line("B 192.0.2.11 " + now + " -1 1 permanent-is-fine"));
        sb.append(line("B 2001:db8:1:2::/64 " + now + " " + (now + hour) + " 3 v6-unit-is-fine"));
        sb.append(line("B 192.0.2.300 " + now + " " + (now + hour) + " 1 bad-octet"));
        sb.append(line("B 192.0.2.12/33 " + now + " " + (now + hour) + " 1 bad-prefix"));
        sb.append(line("B 2001:db8:1:2::1/64 " + now + " " + (now + hour) + " 1 host-bits-set"));
        sb.append(line("B 2001:db8:::1 " + now + " " + (now + hour) + " 1 bad-v6"));
        sb.append(line("B 192.0.2.13 " + now + " " + (now + hour) + " 1 bad%zzescape"));
        sb.append(line("U 192.0.2.99 " + now));
        sb.append(line("X 192.0.2.14 " + now));
        sb.append("x".repeat(1_000_000)).append('\n'); // a huge line
        Path file = dir.resolve("bans.journal");
        Files.writeString(file, sb, StandardCharsets.US_ASCII);
        byte[] junk = new byte[50_000];
        new Random(3).nextBytes(junk);
        Files.write(file, junk, StandardOpenOption.APPEND);

        BanJournal journal = BanJournal.open(file, clock, JailConfig.defaults());
        BanJournal.ReplayReport r = journal.replayReport();
        assertThat(r.restorable()).extracting(b -> b.key().toString())
                .containsExactly("192.0.2.1", "192.0.2.11", "2001:db8:1:2::/64");
        assertThat(r.invalidRecords()).as(r.firstProblem()).isEqualTo(13);
        assertThat(r.corruptLines()).isGreaterThanOrEqualTo(8); // 6 unreadable + unknown type + huge line + junk
        assertThat(journal.skippedRecords()).isEqualTo(r.invalidRecords() + r.corruptLines());
        assertThat(r.firstProblem()).startsWith("line 2: invalid: ban count -5");

        BanEngine engine = new BanEngine(JailConfig.defaults(), clock);
        assertThat(journal.restoreInto(engine)).isEqualTo(3);
        assertThat(engine.isBanned(ip("127.0.0.1"))).isFalse();
        assertThat(engine.isBanned(ip("192.0.2.5"))).isFalse();
        journal.close();
        // the rewrite kept only what was restored
        assertThat(BanJournal.open(file, clock).replayReport().skipped()).isZero();
    }

    @Test
    void aJournalThatIsASymlinkIsRefusedNotFollowed() throws IOException {
        Path victim = dir.resolve("victim");
        Files.writeString(victim, "precious\n");
        Path file = dir.resolve("bans.journal");
        Files.createSymbolicLink(file, victim);
        assertThatThrownBy(() -> BanJournal.open(file, clock)).isInstanceOf(IOException.class);
        assertThat(Files.readString(victim)).isEqualTo("precious\n");
    }

    @Test
    void aPlantedTemporaryFileIsNeverWrittenThrough() throws IOException {
        Path victim = dir.resolve("victim");
        Files.writeString(victim, "precious\n");
        Path file = dir.resolve("bans.journal");
        // an attacker guessing the old fixed temporary name, and one matching the new pattern
        Files.createSymbolicLink(dir.resolve("bans.journal.tmp"), victim);
        Files.createSymbolicLink(dir.resolve("bans.journal.tmp-planted"), victim);
        BanJournal journal = BanJournal.open(file, clock);
        BanEngine engine = new BanEngine(JailConfig.defaults(), clock);
        engine.addListener(journal);
        engine.ban(ip("192.0.2.1"), Duration.ofHours(1), null);
        journal.close();
        assertThat(Files.readString(victim)).isEqualTo("precious\n");
        assertThat(Files.isSymbolicLink(file)).isFalse();
        assertThat(BanJournal.open(file, clock).replayReport().restorable()).hasSize(1);
    }

    /** Everything queued while the writer could not run goes out in one write and one fsync. */
    @Test
    void recordsQueuedMeanwhileShareOneFsync() throws IOException {
        Path file = dir.resolve("bans.journal");
        BanJournal journal = BanJournal.open(file, clock);
        long before = journal.batches();
        synchronized (journal) { // the writer needs this monitor to take a batch
            for (int i = 0; i < 500; i++) {
                journal.onBan(new BanRecord(SourceKey.ofIpv4(0x0A00_0000 + i, 32), clock.instant(),
                        clock.instant().plusSeconds(3600), 1, "q"));
            }
        }
        journal.awaitDurable();
        assertThat(journal.batches() - before).isEqualTo(1);
        assertThat(BanJournal.open(file, clock).replayReport().restorable()).hasSize(500);
        journal.close();
    }

    /** Engine calls from many threads: each returns only once durable, and they share fsyncs. */
    @Test
    void concurrentBansAreAllDurableWhenTheyReturn() throws Exception {
        Path file = dir.resolve("bans.journal");
        BanJournal journal = BanJournal.open(file, clock);
        BanEngine engine = new BanEngine(JailConfig.defaults(), clock);
        engine.addListener(journal);
        AtomicReference<Throwable> error = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            int base = t * 1000;
            Thread th = new Thread(() -> {
                try {
                    for (int i = 0; i < 40; i++) {
                        engine.ban(Ips.v4(base + i), Duration.ofHours(1), null);
                        // returned: the record must be on disk now (read by a fresh replay)
                        if (i % 10 == 9) {
                            String key = "10.0." + ((base + i) >> 8 & 0xFF) + "." + ((base + i) & 0xFF);
                            assertThat(Files.readString(file)).contains("B " + key + " ");
                        }
                    }
                } catch (Throwable e) {
                    error.set(e);
                }
            });
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) {
            th.join();
        }
        assertThat(error.get()).isNull();
        journal.close();
        assertThat(BanJournal.open(file, clock).replayReport().restorable()).hasSize(320);
    }

    /** A million records: streamed with little garbage per record, held state bounded by max-bans. */
    @Test
    void aMillionRecordsReplayInBoundedMemory() throws IOException {
        int records = 1_000_000;
        Path file = dir.resolve("bans.journal");
        long now = clock.millis();
        try (var w = Files.newBufferedWriter(file, StandardCharsets.US_ASCII)) {
            for (int i = 0; i < records; i++) {
                SourceKey k = SourceKey.ofIpv4(0x0B00_0000 + i, 32);
                w.write(BanJournal.banLine(new BanRecord(k, Instant.ofEpochMilli(now - 1000),
                        Instant.ofEpochMilli(now + 3_600_000L + i), 1, "peer did not return a certificate")));
                w.write('\n');
            }
        }
        JailConfig config = JailConfig.builder().maxBans(10_000).build();
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long heapBefore = BanEngineMemoryTest.usedHeapAfterGc();
        long allocBefore = threads.getCurrentThreadAllocatedBytes();
        long t0 = System.nanoTime();
        BanJournal journal = BanJournal.open(file, clock, config);
        long millis = (System.nanoTime() - t0) / 1_000_000;
        long allocated = threads.getCurrentThreadAllocatedBytes() - allocBefore;
        long retained = BanEngineMemoryTest.usedHeapAfterGc() - heapBefore;
        BanJournal.ReplayReport r = journal.replayReport();
        System.out.printf("journal replay: %,d records in %,d ms, %,d B allocated (%d B/record), %,d B retained%n",
                records, millis, allocated, allocated / records, retained);
        assertThat(r.restorable()).hasSize(10_000);
        assertThat(r.overCap()).isEqualTo(records - 10_000);
        assertThat(r.restorable().get(0).key().toString()).isEqualTo("11.15.27.48"); // the latest-ending 10,000 kept
        assertThat(allocated / records).as("bytes allocated per record").isLessThanOrEqualTo(400);
        assertThat(retained).as("heap held after replay").isLessThan(16L << 20);
        journal.close();
    }
}
