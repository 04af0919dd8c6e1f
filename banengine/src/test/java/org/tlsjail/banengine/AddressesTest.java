package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
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

    /**
     * The trick: text made only of the characters a literal uses, yet no literal (a leading dot;
     * a full-width digit, which Character.digit accepts), so InetAddress.getByName hands it to the
     * resolver. A hosts file (the resolver a child JVM is given) maps those names: any address
     * coming back means a name was looked up. Reachable from Redis keys and a balancer's PROXY v1 line.
     */
    @Test
    void textThatOnlyLooksLikeALiteralNeverReachesTheResolver(@TempDir Path dir) throws Exception {
        Path hosts = dir.resolve("hosts");
        List<String> names = List.of(".::1", "\uff11::", "1.2.3.\u0664", "\u0661\u0662\u0667.0.0.1");
        Files.writeString(hosts, "2001:db8::66 " + names.get(0) + "\n2001:db8::67 " + names.get(1) + "\n");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xshare:auto", "-XX:TieredStopAtLevel=1",
                "-Djdk.net.hosts.file=" + hosts, "-cp", System.getProperty("java.class.path"),
                ParseLiteralChild.class.getName()));
        cmd.addAll(names);
        Process child = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(out.lines().toList()).containsExactly("refused", "refused", "refused", "refused");
    }

    @ParameterizedTest
    @CsvSource({"10.0.0.1, 10.0.0.1", "10.1.2.3/8, 10.0.0.0/8", "2001:db8:1:2:3::/64, 2001:db8:1:2::/64", "::1, ::1"})
    void sourceKeysRoundTrip(String in, String out) {
        assertThat(SourceKey.parse(in)).hasToString(out);
        assertThat(SourceKey.parse(out)).isEqualTo(SourceKey.parse(in));
    }
}
