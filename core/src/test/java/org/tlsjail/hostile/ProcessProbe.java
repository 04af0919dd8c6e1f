package org.tlsjail.hostile;

import java.io.File;
import java.lang.management.ManagementFactory;

/** What this JVM holds right now: live threads, open file descriptors, heap retained after full GCs. */
final class ProcessProbe {
    private ProcessProbe() {
    }

    static int threads() {
        return ManagementFactory.getThreadMXBean().getThreadCount();
    }

    static int openFds() {
        String[] fds = new File("/proc/self/fd").list();
        return fds == null ? -1 : fds.length;
    }

    /** Heap in use after several full collections (System.gc() is a full GC with the default G1 settings). */
    static long retainedHeap() {
        Runtime rt = Runtime.getRuntime();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 4; i++) {
            System.gc();
            try {
                Thread.sleep(50); // lets reference processing and cleaners finish between collections
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            used = Math.min(used, rt.totalMemory() - rt.freeMemory());
        }
        return used;
    }

    /** The top of this JVM's live-object histogram (jcmd GC.class_histogram), for a report when heap grew. */
    static String histogram(int lines) {
        try {
            Process p = new ProcessBuilder("jcmd", Long.toString(ProcessHandle.current().pid()), "GC.class_histogram")
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            p.waitFor();
            return String.join("\n", out.lines().limit(lines).toList());
        } catch (java.io.IOException | InterruptedException e) {
            return "(no histogram: " + e + ")";
        }
    }

    record Snapshot(int threads, int fds, long heap) {
        @Override
        public String toString() {
            return String.format("threads=%d fds=%d heap=%.1fMiB", threads, fds, heap / 1048576.0);
        }
    }

    static Snapshot snapshot() {
        long heap = retainedHeap();
        return new Snapshot(threads(), openFds(), heap);
    }
}
