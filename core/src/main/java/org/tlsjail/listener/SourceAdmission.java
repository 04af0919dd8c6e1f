package org.tlsjail.listener;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts unfinished handshakes per source and in total. A map entry exists only while a source
 * has a handshake in progress, so the map never holds more than the total cap.
 */
final class SourceAdmission {
    enum Verdict { ADMITTED, SOURCE_LIMIT, TOTAL_LIMIT }

    private final ConcurrentHashMap<InetAddress, Integer> perSource = new ConcurrentHashMap<>();
    private final AtomicInteger total = new AtomicInteger();
    private volatile int maxPerSource;
    private volatile int maxTotal;

    SourceAdmission(int maxPerSource, int maxTotal) {
        this.maxPerSource = maxPerSource;
        this.maxTotal = maxTotal;
    }

    Verdict tryAcquire(InetAddress source) {
        if (total.incrementAndGet() > maxTotal) {
            total.decrementAndGet();
            return Verdict.TOTAL_LIMIT;
        }
        boolean[] ok = {false};
        perSource.compute(source, (k, v) -> {
            int n = v == null ? 0 : v;
            if (n >= maxPerSource) {
                return v;
            }
            ok[0] = true;
            return n + 1;
        });
        if (!ok[0]) {
            total.decrementAndGet();
            return Verdict.SOURCE_LIMIT;
        }
        return Verdict.ADMITTED;
    }

    void release(InetAddress source) {
        perSource.computeIfPresent(source, (k, v) -> v <= 1 ? null : v - 1);
        total.decrementAndGet();
    }

    int inProgress() {
        return total.get();
    }
}
