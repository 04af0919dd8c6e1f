package org.tlsjail.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
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
        RealPeer.require("root".equals(System.getProperty("user.name")), "root, to create a network namespace");
        RealPeer.require(Files.isExecutable(Path.of("/usr/sbin/ip")) || Files.isExecutable(Path.of("/sbin/ip")),
                "ip (Debian package iproute2)");
        String ns = "tjfair" + ProcessHandle.current().pid() + "x" + ThreadLocalRandom.current().nextInt(1 << 20);
        int r = ThreadLocalRandom.current().nextInt(1, 0xfff0);
        String prefix = "2001:db8:" + Integer.toHexString(r) + ":1";
        int addresses = 32;
        int perSource = 4;
        try {
            sh("ip", "netns", "add", ns);
            sh("ip", "-n", ns, "link", "set", "lo", "up");
            sh("ip", "-n", ns, "-6", "route", "add", "local", prefix + "::/64", "dev", "lo");
            // binding to any address of the routed /64 (AnyIP) needs this, in this namespace only
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.ip_nonlocal_bind=1");
            String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns, javaBin, "-XX:TieredStopAtLevel=1",
                    "-cp", System.getProperty("java.class.path"), PrefixFloodMain.class.getName(), dir.toString(), prefix,
                    String.valueOf(addresses), String.valueOf(perSource), protocol));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
            String result = out.lines().filter(l -> l.startsWith("RESULT ")).findFirst().orElse(null);
            System.out.printf("hostile: exact maxretry (%s, IPv6 /64): %d addresses x %d connections: %s%n", protocol,
                    addresses, perSource, result);
            assertThat(result).as("child output: %s", out).isNotNull();
            assertThat(field(result, "flights")).as("server flights for the whole /64").isEqualTo(3);
            assertThat(field(result, "lines")).as("failures logged for the whole /64").isEqualTo(3);
            assertThat(result).contains("banned=true");
        } finally {
            try {
                sh("ip", "netns", "del", ns);
            } catch (IOException ignored) {
                // not created
            }
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

    private static void sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out);
        }
    }
}
