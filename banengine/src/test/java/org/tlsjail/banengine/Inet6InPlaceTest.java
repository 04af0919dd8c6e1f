package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.net.Inet6Address;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * The in-place read: on where the build's test JVMs open java.net (as the launcher does, so this
 * fails rather than skips if the flag goes missing); off, with the reason the daemon logs, in a
 * JVM without the flag or with the property that turns it off; and the same 128 bits as
 * {@code getAddress()} for any address and scope id.
 */
class Inet6InPlaceTest {

    /** Run in a child JVM: prints whether the read is available, and why not. */
    public static void main(String[] args) {
        System.out.println(Inet6InPlace.AVAILABLE + "|" + Inet6InPlace.WHY_NOT);
    }

    @Test
    void availableWhereJavaNetIsOpenedAsTheLauncherOpensIt() {
        assertThat(Inet6InPlace.AVAILABLE).as("--add-opens java.base/java.net=ALL-UNNAMED in the test JVM").isTrue();
        assertThat(Inet6InPlace.WHY_NOT).isEmpty();
    }

    @Test
    void offWithTheReasonInAJvmWithoutTheFlagOrWithThePropertyOff() throws Exception {
        assertThat(childJvm()).startsWith("false|the JVM does not open java.net to tlsjail (--add-opens java.base/java.net=ALL-UNNAMED");
        assertThat(childJvm("--add-opens=java.base/java.net=ALL-UNNAMED", "-Dtlsjail.inet6.in-place=false"))
                .isEqualTo("false|-Dtlsjail.inet6.in-place=false is set");
        assertThat(childJvm("--add-opens=java.base/java.net=ALL-UNNAMED")).isEqualTo("true|");
    }

    @Test
    void aCallerWithoutPrivateAccessGetsNoGetter() {
        assertThat(Inet6InPlace.find(MethodHandles.publicLookup())).isNull();
    }

    @Property(tries = 500)
    void sameBitsAsGetAddress(@ForAll @Size(16) byte[] bytes, @ForAll @IntRange(min = -1, max = 5) int scope)
            throws UnknownHostException {
        Inet6Address a = Inet6Address.getByAddress(null, bytes, scope);
        ByteBuffer copy = ByteBuffer.wrap(a.getAddress());
        byte[] own = Inet6InPlace.bytes(a);
        assertThat(Inet6InPlace.hi(own)).isEqualTo(copy.getLong(0));
        assertThat(Inet6InPlace.lo(own)).isEqualTo(copy.getLong(8));
        assertThat(own).isEqualTo(a.getAddress());
    }

    private static String childJvm(String... jvmArgs) throws IOException, InterruptedException, URISyntaxException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(List.of(jvmArgs));
        cmd.addAll(List.of("-cp", location(Inet6InPlace.class) + java.io.File.pathSeparator + location(Inet6InPlaceTest.class),
                Inet6InPlaceTest.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    private static String location(Class<?> c) throws URISyntaxException {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }
}
