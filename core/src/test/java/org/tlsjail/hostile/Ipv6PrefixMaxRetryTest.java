package org.tlsjail.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.testing.NetworkNamespace;
import org.tlsjail.testing.RealPeer;

/**
 * Issue 10, item 1, IPv6: the ban unit is the /64, so many addresses of one /64, each opening
 * several connections at once, get maxretry server flights between them, not per address. The
 * /64 is routed to the loopback of a network namespace this test creates (unique name, removed
 * afterwards); the listener and the attacker run in a JVM placed in it ({@link PrefixFloodMain}).
 */
class Ipv6PrefixMaxRetryTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"-tls1_3", "-tls1_2"})
    void manyAddressesOfOneSlash64GetMaxretryServerFlightsBetweenThem(String protocol) throws Exception {
        RealPeer.require(NetworkNamespace.unavailable() == null, String.valueOf(NetworkNamespace.unavailable()));
        int addresses = 32;
        int perSource = 4;
        try (NetworkNamespace ns = NetworkNamespace.withRoutedSlash64s("tjfair", 1)) {
            String prefix = ns.slash64s().get(0);
            String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            List<String> cmd = List.of(javaBin, "-XX:TieredStopAtLevel=1",
                    "-cp", System.getProperty("java.class.path"), PrefixFloodMain.class.getName(), dir.toString(), prefix,
                    String.valueOf(addresses), String.valueOf(perSource), protocol);
            Process p = new ProcessBuilder(ns.command(cmd)).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
            String result = out.lines().filter(l -> l.startsWith("RESULT ")).findFirst().orElse(null);
            System.out.printf("hostile: exact maxretry (%s, IPv6 /64): %d addresses x %d connections: %s%n", protocol,
                    addresses, perSource, result);
            assertThat(result).as("child output: %s", out).isNotNull();
            assertThat(field(result, "flights")).as("server flights for the whole /64").isEqualTo(3);
            assertThat(field(result, "lines")).as("failures logged for the whole /64").isEqualTo(3);
            assertThat(result).contains("banned=true");
        }
    }

    private static int field(String line, String name) {
        for (String part : line.split(" ")) {
            if (part.startsWith(name + "=")) {
                return Integer.parseInt(part.substring(name.length() + 1));
            }
        }
        throw new AssertionError(name + " missing in " + line);
    }
}
