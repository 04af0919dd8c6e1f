package org.tlsjail.listener;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.tlsjail.banengine.SourceKey;

class SourceAdmissionTest {
    private static Visit visit(String address, int v6Prefix, boolean partner) throws Exception {
        Visit v = new Visit(InetAddress.getByName(address), 0);
        v.key = SourceKey.of(v.source, 32, v6Prefix);
        v.partner = partner;
        return v;
    }

    @Test
    void capsPerSourceAndInTotalAndForgetsIdleSources() throws Exception {
        SourceAdmission a = new SourceAdmission(2, 3, 0);
        Visit x1 = visit("192.0.2.1", 64, false);
        Visit x2 = visit("192.0.2.1", 64, false);
        Visit x3 = visit("192.0.2.1", 64, false);
        Visit y1 = visit("192.0.2.2", 64, false);
        Visit y2 = visit("192.0.2.2", 64, false);
        assertThat(a.tryHold(x1)).isEqualTo(SourceAdmission.Verdict.ADMITTED);
        assertThat(a.tryHold(x2)).isEqualTo(SourceAdmission.Verdict.ADMITTED);
        assertThat(a.tryHold(x3)).isEqualTo(SourceAdmission.Verdict.SOURCE_LIMIT);
        assertThat(a.tryHold(y1)).isEqualTo(SourceAdmission.Verdict.ADMITTED);
        assertThat(a.tryHold(y2)).isEqualTo(SourceAdmission.Verdict.TOTAL_LIMIT);
        assertThat(a.inProgress()).isEqualTo(3);
        a.release(x1);
        a.release(x1); // idempotent
        a.release(x2);
        a.release(y1);
        assertThat(a.inProgress()).isZero();
        assertThat(a.tryHold(y1)).isEqualTo(SourceAdmission.Verdict.ADMITTED);
        assertThat(a.tryHold(y2)).isEqualTo(SourceAdmission.Verdict.ADMITTED);
    }

    @Test
    void addressesOfOnePrefixShareOneCount() throws Exception {
        SourceAdmission a = new SourceAdmission(2, 100, 0);
        assertThat(a.tryHold(visit("2001:db8:1:2::1", 64, false))).isEqualTo(SourceAdmission.Verdict.ADMITTED);
        assertThat(a.tryHold(visit("2001:db8:1:2::2", 64, false))).isEqualTo(SourceAdmission.Verdict.ADMITTED);
        assertThat(a.tryHold(visit("2001:db8:1:2:ffff::9", 64, false))).isEqualTo(SourceAdmission.Verdict.SOURCE_LIMIT);
        assertThat(a.tryHold(visit("2001:db8:1:3::1", 64, false))).isEqualTo(SourceAdmission.Verdict.ADMITTED);
    }

    @Test
    void partnersGetTheReserveOthersCannotTake() throws Exception {
        SourceAdmission a = new SourceAdmission(8, 4, 2);
        assertThat(a.tryHold(visit("192.0.2.1", 64, false))).isEqualTo(SourceAdmission.Verdict.ADMITTED);
        assertThat(a.tryHold(visit("192.0.2.2", 64, false))).isEqualTo(SourceAdmission.Verdict.ADMITTED);
        assertThat(a.tryHold(visit("192.0.2.3", 64, false))).isEqualTo(SourceAdmission.Verdict.TOTAL_LIMIT);
        assertThat(a.tryHold(visit("192.0.2.9", 64, true))).isEqualTo(SourceAdmission.Verdict.ADMITTED);
        assertThat(a.tryHold(visit("192.0.2.9", 64, true))).isEqualTo(SourceAdmission.Verdict.ADMITTED);
        assertThat(a.tryHold(visit("192.0.2.9", 64, true))).isEqualTo(SourceAdmission.Verdict.TOTAL_LIMIT);
    }

    @Test
    void startsNoMoreThanAllowedAndSeesFailuresRecordedBeforeRelease() throws Exception {
        SourceAdmission a = new SourceAdmission(8, 100, 0);
        AtomicInteger failures = new AtomicInteger();
        int maxRetry = 3;
        Visit[] v = new Visit[8];
        for (int i = 0; i < v.length; i++) {
            v[i] = visit("192.0.2.1", 64, false);
            assertThat(a.tryHold(v[i])).isEqualTo(SourceAdmission.Verdict.ADMITTED);
        }
        int started = 0;
        for (Visit x : v) {
            if (a.tryStart(x, () -> maxRetry - failures.get())) {
                started++;
            }
        }
        assertThat(started).isEqualTo(3);
        assertThat(a.started()).isEqualTo(3);
        // one handshake fails: the failure is recorded first, then its slot is given back
        failures.incrementAndGet();
        a.release(v[0]);
        assertThat(a.tryStart(v[3], () -> maxRetry - failures.get())).isFalse();
        failures.incrementAndGet();
        a.release(v[1]);
        failures.incrementAndGet();
        a.release(v[2]);
        assertThat(a.tryStart(v[3], () -> maxRetry - failures.get())).isFalse();
        assertThat(a.started()).isZero();
    }

    @Test
    void sourcesThatAreNotPartnersShareACapOnStartedHandshakesPartnersDoNot() throws Exception {
        SourceAdmission a = new SourceAdmission(8, 100, 0, 2);
        Visit x = visit("192.0.2.1", 64, false);
        Visit y = visit("192.0.2.2", 64, false);
        Visit z = visit("192.0.2.3", 64, false);
        Visit p = visit("192.0.2.9", 64, true);
        for (Visit v : new Visit[] {x, y, z, p}) {
            assertThat(a.tryHold(v)).isEqualTo(SourceAdmission.Verdict.ADMITTED);
        }
        assertThat(a.tryStart(x, () -> 3)).isTrue();
        assertThat(a.tryStart(y, () -> 3)).isTrue();
        assertThat(a.unprovenFull()).isTrue();
        assertThat(a.tryStart(z, () -> 3)).isFalse();
        assertThat(a.tryStart(p, () -> 8)).as("a partner is not held by the others' cap").isTrue();
        a.release(x);
        assertThat(a.tryStart(z, () -> 3)).isTrue();
    }
}
