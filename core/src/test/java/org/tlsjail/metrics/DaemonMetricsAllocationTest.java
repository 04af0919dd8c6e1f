package org.tlsjail.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.listener.HandshakeObserver.Refusal;

/** A flood of refused connections must not turn into garbage in the metrics observer. */
class DaemonMetricsAllocationTest {
    @Test
    void aRefusalAllocatesNothing() throws Exception {
        DaemonMetrics metrics = new DaemonMetrics(new BanEngine(JailConfig.defaults(), Clock.systemUTC()), () -> 0);
        InetAddress source = InetAddress.getByName("192.0.2.1");
        Refusal[] reasons = Refusal.values();
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (int i = 0; i < 20_000; i++) {
            metrics.onRefused(source, reasons[i % reasons.length]); // warm-up: label children exist already
        }
        int calls = 200_000;
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < calls; i++) {
            metrics.onRefused(source, reasons[i % reasons.length]);
        }
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        // the old observer made ~170 B per call (toLowerCase, a label lookup): 34 MB here
        assertThat(allocated).as("bytes allocated by %d refusals", calls).isLessThan(4096);
        metrics.close();
    }
}
