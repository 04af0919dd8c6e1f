package org.tlsjail.listener;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Every code and string tlsjail logs, checked against the installed OpenSSL 3's own table. */
class OpenSslStringsTest {
    @Test
    void failureKindsAndAlertStringsMatchOpensslErrstr() throws Exception {
        List<String> codes = new ArrayList<>();
        List<String> expected = new ArrayList<>();
        for (FailureKind k : FailureKind.values()) {
            if (k == FailureKind.ALERT_RECEIVED) {
                continue;
            }
            codes.add(Long.toHexString(k.code()).toUpperCase());
            expected.add(k.reason());
        }
        int[] alerts = {10, 20, 21, 22, 30, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 60, 70, 71, 80, 86, 90, 100,
            109, 110, 111, 112, 113, 114, 115, 116, 120, 140};
        for (int a : alerts) {
            codes.add(Long.toHexString(FailureKind.ALERT_RECEIVED.code() + a).toUpperCase());
            expected.add(OpenSslAlerts.reason(a));
        }
        List<String> cmd = new ArrayList<>(List.of("openssl", "errstr"));
        cmd.addAll(codes);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
        String[] lines = out.strip().split("\n");
        assertThat(lines).hasSize(codes.size());
        for (int i = 0; i < lines.length; i++) {
            // error:0A0000C7:SSL routines::peer did not return a certificate
            String reason = lines[i].substring(lines[i].indexOf("::") + 2);
            assertThat(reason).as("code %s", codes.get(i)).isEqualTo(expected.get(i));
        }
    }

    @Test
    void prefixJudgementFollowsOpensslsRecordLayer() {
        assertThat(FailureClassifier.judgePrefix("GET /".getBytes(StandardCharsets.US_ASCII), 5)).isEqualTo(FailureKind.HTTP_REQUEST);
        assertThat(FailureClassifier.judgePrefix("POST ".getBytes(StandardCharsets.US_ASCII), 5)).isEqualTo(FailureKind.HTTP_REQUEST);
        assertThat(FailureClassifier.judgePrefix("CONNE".getBytes(StandardCharsets.US_ASCII), 5)).isEqualTo(FailureKind.HTTPS_PROXY_REQUEST);
        assertThat(FailureClassifier.judgePrefix("SSH-2".getBytes(StandardCharsets.US_ASCII), 5)).isEqualTo(FailureKind.WRONG_VERSION_NUMBER);
        assertThat(FailureClassifier.judgePrefix(new byte[] {0x16, 0x03, 0x01, 0x02, 0x00}, 5)).isNull();
        assertThat(FailureClassifier.judgePrefix(new byte[] {0x16, 0x02, 0x01, 0x02, 0x00}, 5)).isEqualTo(FailureKind.WRONG_VERSION_NUMBER);
        assertThat(FailureClassifier.judgePrefix(new byte[] {0x16, 0x03, 0x01, 0x7f, 0x00}, 5)).isEqualTo(FailureKind.PACKET_LENGTH_TOO_LONG);
        assertThat(FailureClassifier.judgePrefix(new byte[] {0x16, 0x03}, 2)).isEqualTo(FailureKind.UNEXPECTED_EOF);
        assertThat(FailureClassifier.judgePrefix("GE".getBytes(StandardCharsets.US_ASCII), 2)).isEqualTo(FailureKind.UNEXPECTED_EOF);
        assertThat(FailureClassifier.judgePrefix(new byte[0], 0)).isEqualTo(FailureKind.UNEXPECTED_EOF);
    }
}
