package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class FailDurationTest {

    @ParameterizedTest
    @CsvSource({"600, 600", "10m, 600", "1h, 3600", "1d, 86400", "1w, 604800", "1d12h30m, 131400",
        "0.5d, 43200", "2 hours, 7200", "90s, 90", "1mo, 2629800", "1y, 31557600"})
    void parsesFail2BanSyntax(String text, long seconds) {
        assertThat(FailDuration.parse(text, "jail.bantime")).isEqualTo(Duration.ofSeconds(seconds));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "abc", "10x", "-5", "1h-", "--1", "1e9"})
    void rejectsWithOptionName(String text) {
        assertThatThrownBy(() -> FailDuration.parse(text, "jail.findtime")).hasMessageStartingWith("jail.findtime");
    }

    @ParameterizedTest
    @CsvSource({"3600, 1h", "131400, 1d12h30m", "90, 1m30s"})
    void formatsShortest(long seconds, String text) {
        assertThat(FailDuration.format(Duration.ofSeconds(seconds))).isEqualTo(text);
    }

    @org.junit.jupiter.api.Test
    void minusOneIsPermanent() {
        assertThat(FailDuration.parse("-1", "jail.bantime")).isEqualTo(FailDuration.PERMANENT);
        assertThat(FailDuration.format(FailDuration.PERMANENT)).isEqualTo("-1");
        assertThatThrownBy(() -> FailDuration.parse("999999999999y", "jail.bantime")).hasMessageContaining("100 years");
    }
}
