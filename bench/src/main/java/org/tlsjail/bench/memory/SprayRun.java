package org.tlsjail.bench.memory;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/** Runs {@link SprayMemory} in a fresh JVM and reads back what it measured. */
public final class SprayRun {
    /** One spray: the figures SprayMemory wrote; {@code histogram} rows are class|instances|bytes|bytes per key. */
    public record Result(int sources, int maxTracked, long trackedKeys, long evictions, int attackers,
                         int attackersStillBanned, int activeBans, long heapBefore, long heapAfter,
                         double bytesPerTrackedKey, long failuresPerSecond, String gc, List<String[]> histogram) {
        public boolean capHolds() {
            return trackedKeys <= maxTracked && attackersStillBanned == attackers && activeBans == attackers;
        }
    }

    private final Path workDir;
    private final String heap;

    public SprayRun(Path workDir, String heap) {
        this.workDir = workDir;
        this.heap = heap;
    }

    public Result run(int sources, int maxTracked) throws IOException, InterruptedException {
        Path out = workDir.resolve("spray-" + sources + "-" + maxTracked + ".properties");
        Files.deleteIfExists(out);
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + heap, "-cp", System.getProperty("java.class.path"), SprayMemory.class.getName(),
                Integer.toString(sources), Integer.toString(maxTracked), out.toString())
                .inheritIO().start();
        int rc = p.waitFor();
        if (rc != 0 || !Files.exists(out)) {
            throw new IOException("SprayMemory " + sources + " " + maxTracked + " failed with exit code " + rc);
        }
        Properties pr = new Properties();
        try (Reader r = Files.newBufferedReader(out)) {
            pr.load(r);
        }
        List<String[]> hist = new ArrayList<>();
        for (String line : pr.getProperty("histogram").split("\n")) {
            if (!line.isBlank()) {
                hist.add(line.split("\\|"));
            }
        }
        return new Result(i(pr, "sources"), i(pr, "maxTracked"), l(pr, "trackedKeys"), l(pr, "evictions"),
                i(pr, "attackers"), i(pr, "attackersStillBanned"), i(pr, "activeBans"), l(pr, "heapBefore"),
                l(pr, "heapAfter"), Double.parseDouble(pr.getProperty("bytesPerTrackedKey")),
                l(pr, "sprayFailuresPerSecond"), pr.getProperty("gc"), hist);
    }

    private static int i(Properties p, String k) {
        return Integer.parseInt(p.getProperty(k));
    }

    private static long l(Properties p, String k) {
        return Long.parseLong(p.getProperty(k));
    }
}
