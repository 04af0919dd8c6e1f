package org.tlsjail.bridge.fail2ban;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.LocalDateTime;
import java.time.ZoneId;
import org.junit.jupiter.api.Test;

/** Lines as fail2ban-client 1.0.2 prints `get os4x banip --with-time` (checked against the real server). */
class JailListingTest {
    @Test
    void readsTheEndOfABan() {
        long end = LocalDateTime.of(2026, 12, 2, 6, 55, 11).atZone(ZoneId.systemDefault()).toInstant().toEpochMilli();
        assertThat(JailListing.endMillis("127.0.0.5 \t2026-12-02 05:55:11 + 3600 = 2026-12-02 06:55:11")).isEqualTo(end);
        assertThat(JailListing.endMillis("2001:db8:1:2::/64 \t2026-12-02 05:55:11 + 3600 = 2026-12-02 06:55:11"))
                .isEqualTo(end);
    }

    @Test
    void permanentIsForever() {
        assertThat(JailListing.endMillis("127.0.0.5 \t2026-12-02 05:55:11 + -1 = 9999-12-31 23:59:59"))
                .isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void anythingElseIsUnknown() {
        assertThat(JailListing.endMillis("127.0.0.5")).isNull();
        assertThat(JailListing.endMillis("127.0.0.5 \t2026-13-02 05:55:11 + 3600 = 2026-13-02 06:55:11")).isNull();
        assertThat(JailListing.endMillis("127.0.0.5 \tyesterday + 3600 = tomorrow")).isNull();
    }
}
