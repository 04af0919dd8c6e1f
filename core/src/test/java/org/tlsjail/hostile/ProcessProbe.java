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
