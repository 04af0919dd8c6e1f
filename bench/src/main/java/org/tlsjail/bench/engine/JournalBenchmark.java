package org.tlsjail.bench.engine;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.ThreadParams;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.BanJournal;
import org.tlsjail.banengine.BanRecord;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.bench.SyntheticAddresses;

/**
 * Manual bans per second with the journal on a real disk (every ban returns only once its record
 * is forced to disk): {@code inline} is the old way (write + fsync inside the listener, under the
 * engine's lock), {@code group} the group-committing {@link BanJournal}. With one thread both pay
 * one fsync per ban; with several, group commit lets one fsync cover every ban queued meanwhile.
 * The journal lives in {@code tlsjail.bench.dir} (default {@code bench/target/journal-bench}),
 * which must be on a disk, not tmpfs, for the figure to mean anything.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class JournalBenchmark {
    @Param({"inline", "group"})
    public String journal;

    private BanEngine engine;
    private Closeable listener;
    private Path dir;

    @State(Scope.Thread)
    public static class Sources {
        int next;

        @Setup(Level.Trial)
        public void setUp(ThreadParams p) {
            next = 0x0A00_0000 + (p.getThreadIndex() << 20);
        }

        InetAddress next() {
            return SyntheticAddresses.v4(next++);
        }
    }

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        Path base = Path.of(System.getProperty("tlsjail.bench.dir", "bench/target/journal-bench"));
        Files.createDirectories(base);
        dir = Files.createTempDirectory(base, "journal");
        engine = new BanEngine(JailConfig.builder().maxBans(10_000_000).build(), InstantSource.system());
        Path file = dir.resolve("bans.journal");
        if (journal.equals("inline")) {
            InlineFsyncJournal j = new InlineFsyncJournal(file);
            engine.addListener(j);
            listener = j;
        } else {
            BanJournal j = BanJournal.open(file, InstantSource.system());
            engine.addListener(j);
            listener = j;
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        listener.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Benchmark
    @Threads(1)
    public BanRecord ban1Thread(Sources s) {
        return engine.ban(s.next(), Duration.ofHours(1), "bench");
    }

    @Benchmark
    @Threads(8)
    public BanRecord ban8Threads(Sources s) {
        return engine.ban(s.next(), Duration.ofHours(1), "bench");
    }
}
