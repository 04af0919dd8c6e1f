package org.tlsjail.bench.memory;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;

/** Heap in use after full collections, once it stops moving. */
final class HeapProbe {
    private final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();

    long settledUsed() {
        long previous = Long.MAX_VALUE;
        long used = 0;
        for (int round = 0; round < 10; round++) {
            System.gc();
            used = memory.getHeapMemoryUsage().getUsed();
            // a full GC that frees less than 64 KiB more than the last one: nothing left to free
            if (Math.abs(previous - used) < 64 * 1024) {
                break;
            }
            previous = used;
        }
        return used;
    }
}
