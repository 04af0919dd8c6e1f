package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.invoke.MethodHandles;
import java.net.Inet6Address;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * The in-place read: on where the build's test JVMs open java.net (as the launcher does, so this
 * fails rather than skips if the flag goes missing), off for a caller without that access, and
 * the same 128 bits as {@code getAddress()} for any address and scope id.
 */
class Inet6InPlaceTest {

    @Test
    void availableWhereJavaNetIsOpenedAsTheLauncherOpensIt() {
        assertThat(Inet6InPlace.AVAILABLE).as("--add-opens java.base/java.net=ALL-UNNAMED in the test JVM").isTrue();
    }

    @Test
    void notAvailableToACallerWithoutAccessSoTheEngineFallsBackToTheMemo() {
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
        assertThat(own).isNotSameAs(a.getAddress()).isEqualTo(a.getAddress());
    }
}
