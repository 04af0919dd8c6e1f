package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Expiry reaches listeners with no traffic at all: the sweeper notices the clock has moved. */
class SweeperTest {
    @Test
    void expiryIsAnnouncedWithoutTraffic() throws Exception {
        ManualClock clock = new ManualClock();
        BanEngine engine = new BanEngine(JailConfig.defaults(), clock);
        CountDownLatch expired = new CountDownLatch(1);
        engine.addListener(new BanListener() {
            @Override
            public void onBan(BanRecord ban) {
            }

            @Override
            public void onUnban(BanRecord ban, UnbanCause cause) {
                if (cause == UnbanCause.EXPIRED) {
                    expired.countDown();
                }
            }
        });
        engine.ban(Ips.ip("192.0.2.1"), Duration.ofMinutes(1), null);
        try (AutoCloseable sweeper = engine.startSweeper()) {
            clock.advance(Duration.ofMinutes(1));
            // the sweeper runs every 250 ms; the generous bound only keeps a loaded CI machine
            // from failing a test that is about "happens without traffic", not about speed
            assertThat(expired.await(10, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(engine.stats().activeBans()).isZero();
    }
}
