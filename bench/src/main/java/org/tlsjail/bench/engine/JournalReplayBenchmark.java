package org.tlsjail.bench.engine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.tlsjail.banengine.BanJournal;
import org.tlsjail.banengine.JailConfig;

/**
 * Start-up replay of a journal of {@code records} ban records (distinct IPv4 sources, all still
 * in force, default max-bans 100,000 so the rest are over the cap), each open a cold start:
 * replay, validation, compaction to the live bans, fsync.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class JournalReplayBenchmark {
    @Param({"1000000"})
    public int records;

    private Path dir;
    private byte[] content;

    @Setup(Level.Trial)
    public void write() throws IOException {
        Path base = Path.of(System.getProperty("tlsjail.bench.dir", "bench/target/journal-bench"));
        Files.createDirectories(base);
        dir = Files.createTempDirectory(base, "replay");
        long now = System.currentTimeMillis();
        StringBuilder sb = new StringBuilder(records * 90);
        CRC32 crc = new CRC32();
        for (int i = 0; i < records; i++) {
            int a = 0x0B00_0000 + i;
            String body = "B " + (a >>> 24) + "." + (a >>> 16 & 255) + "." + (a >>> 8 & 255) + "." + (a & 255) + " "
                    + (now - 1000) + " " + (now + 3_600_000L + i) + " 1 peer%20did%20not%20return%20a%20certificate";
            crc.reset();
            crc.update(body.getBytes(StandardCharsets.US_ASCII));
            sb.append(body).append(" #").append(String.format("%08x", crc.getValue())).append('\n');
        }
        content = sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

    @Setup(Level.Invocation)
    public void restore() throws IOException {
        Files.write(dir.resolve("bans.journal"), content); // open() compacts it: write it back each time
    }

    @Benchmark
    public int replay() throws IOException {
        BanJournal j = BanJournal.open(dir.resolve("bans.journal"), Clock.systemUTC(), JailConfig.defaults());
        int n = j.replayReport().restorable().size();
        j.close();
        return n;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
