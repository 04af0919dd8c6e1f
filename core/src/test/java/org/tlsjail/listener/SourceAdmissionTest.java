package org.tlsjail.listener;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class SourceAdmissionTest {
    @Test
    void capsPerSourceAndInTotalAndForgetsIdleSources() throws Exception {
        SourceAdmission a = new SourceAdmission(2, 3);
        InetAddress x = InetAddress.getByName("192.0.2.1");
        InetAddress y = InetAddress.getByName("192.0.2.2");
        assertThat(a.tryAcquire(x)).isEqualTo(SourceAdmission.Verdict.ADMITTED);
        assertThat(a.tryAcquire(x)).isEqualTo(SourceAdmission.Verdict.ADMITTED);
        assertThat(a.tryAcquire(x)).isEqualTo(SourceAdmission.Verdict.SOURCE_LIMIT);
        assertThat(a.tryAcquire(y)).isEqualTo(SourceAdmission.Verdict.ADMITTED);
        assertThat(a.tryAcquire(y)).isEqualTo(SourceAdmission.Verdict.TOTAL_LIMIT);
        assertThat(a.inProgress()).isEqualTo(3);
        a.release(x);
        a.release(x);
        a.release(y);
        assertThat(a.inProgress()).isZero();
        assertThat(a.tryAcquire(y)).isEqualTo(SourceAdmission.Verdict.ADMITTED);
        assertThat(a.tryAcquire(y)).isEqualTo(SourceAdmission.Verdict.ADMITTED);
    }
}
