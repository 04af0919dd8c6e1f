package org.tlsjail.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LatenciesTest {
    @Test
    void percentilesAreNearestRank() {
        Latencies l = new Latencies();
        for (int ms = 100; ms >= 1; ms--) { // added out of order on purpose
            l.add(ms * 1_000_000L);
        }
        assertThat(l.percentileMillis(50)).isEqualTo(50.0);
        assertThat(l.percentileMillis(99)).isEqualTo(99.0);
        assertThat(l.percentileMillis(100)).isEqualTo(100.0);
    }

    @Test
    void clearForgetsSamplesAndEmptyIsNaN() {
        Latencies l = new Latencies();
        l.add(5_000_000L);
        l.clear();
        assertThat(l.count()).isZero();
        assertThat(l.percentileMillis(50)).isNaN();
    }
}
