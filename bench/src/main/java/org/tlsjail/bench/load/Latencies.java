package org.tlsjail.bench.load;

import java.util.Arrays;

/** Latency samples in nanoseconds; percentiles by nearest rank. */
public final class Latencies {
    private long[] samples = new long[1024];
    private int n;

    public synchronized void add(long nanos) {
        if (n == samples.length) {
            samples = Arrays.copyOf(samples, n * 2);
        }
        samples[n++] = nanos;
    }

    public synchronized void clear() {
        n = 0;
    }

    public synchronized int count() {
        return n;
    }

    /** The p-th percentile (0 < p <= 100) in milliseconds, NaN without samples. */
    public synchronized double percentileMillis(double p) {
        if (n == 0) {
            return Double.NaN;
        }
        long[] s = Arrays.copyOf(samples, n);
        Arrays.sort(s);
        int rank = (int) Math.ceil(p / 100.0 * n);
        return s[Math.max(0, Math.min(n - 1, rank - 1))] / 1e6;
    }
}
