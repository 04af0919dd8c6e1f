package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@link BanEngine#failures}: what the listener's per-source admission asks. */
class FailuresOfBanUnitTest {
    @Test
    void countsFailuresOfTheBanUnitWithinFindtime() throws Exception {
        ManualClock clock = new ManualClock();
        BanEngine engine = new BanEngine(JailConfig.builder().maxRetry(3).findTime(Duration.ofMinutes(10))
                .ipv6Prefix(64).build(), clock);
        InetAddress a = InetAddress.getByName("2001:db8:1:2::1");
        InetAddress b = InetAddress.getByName("2001:db8:1:2:ffff::9");
        assertThat(engine.failures(a)).isZero();
        engine.recordFailure(a);
        clock.advance(Duration.ofMinutes(6));
        engine.recordFailure(b);
        assertThat(engine.failures(b)).as("one /64, two addresses").isEqualTo(2);
        assertThat(engine.failures(InetAddress.getByName("2001:db8:1:3::1"))).isZero();
        clock.advance(Duration.ofMinutes(5));
        assertThat(engine.failures(a)).as("the first left the window").isEqualTo(1);
    }
}
