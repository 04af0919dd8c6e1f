package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What {@code isBanned} allocates for IPv6 sources, counted in bytes by the JVM for this thread
 * (no timing). Read in place (the launcher's {@code --add-opens java.base/java.net}, which the
 * build's test JVMs get too): nothing, also for a sprayer using a fresh address each time. With the
 * memo (no such flag): nothing for a source retrying from one address once it has been checked
 * twice, one 16-byte copy (a 32-byte array) per call for a sprayer. Every probe is its own
 * {@code InetAddress} object, as the JDK's accept makes one per connection.
 */
class Inet6BitsAllocationTest {
    private static final int CALLS = 20_000;
    private final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private static InetAddress v6(long net, long host) {
        byte[] b = new byte[16];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (net >>> (56 - 8 * i));
            b[8 + i] = (byte) (host >>> (56 - 8 * i));
        }
        return Inet6BitsPropertyTest.inet6(b, -1);
    }

    private BanEngine engineBanning(InetAddress banned) {
        return engineBanning(banned, false);
    }

    private BanEngine engineBanning(InetAddress banned, boolean inPlace) {
        // the shipped ignoreip: "::1" is narrower than the /64 unit, so every IPv6 hit looks at it
        BanEngine engine = new BanEngine(JailConfig.builder().ignoreIp(List.of("127.0.0.1/8", "::1")).build(),
                new ManualClock(), inPlace);
        engine.ban(banned, Duration.ofHours(1), "t");
        for (int i = 0; i < 1000; i++) { // classes loaded, code warm, before anything is counted
            engine.isBanned(v6(0x2001_0db8_ffff_0000L, i));
        }
        return engine;
    }

    private long allocatedBy(Runnable r) {
        long self = threads.getThreadAllocatedBytes(Thread.currentThread().getId());
        long before = threads.getThreadAllocatedBytes(Thread.currentThread().getId());
        r.run();
        long after = threads.getThreadAllocatedBytes(Thread.currentThread().getId());
        return after - before - (before - self); // minus what one reading itself costs
    }

    @Test
    void aSourceRetryingFromOneAddressAllocatesNothingFromItsThirdCheckOn() {
        InetAddress attacker = v6(0x2001_0db8_0001_0002L, 0x42);
        BanEngine engine = engineBanning(attacker);
        InetAddress[] probes = new InetAddress[CALLS];
        for (int i = 0; i < CALLS; i++) {
            probes[i] = v6(0x2001_0db8_0001_0002L, 0x42);
        }
        assertThat(engine.isBanned(probes[0])).isTrue();
        assertThat(engine.isBanned(probes[1])).isTrue(); // second sight: the memo takes it
        boolean[] answers = new boolean[CALLS];
        long bytes = allocatedBy(() -> {
            for (int i = 2; i < CALLS; i++) {
                answers[i] = engine.isBanned(probes[i]);
            }
        });
        for (int i = 2; i < CALLS; i++) {
            assertThat(answers[i]).isTrue();
        }
        // a memo that failed would show 32 B a check; < 1 B a check leaves room for the JIT's own rare allocations
        assertThat(bytes).as("bytes allocated by %d checks", CALLS - 2).isLessThan(CALLS);
    }

    @Test
    void aSprayerCostsOneCopyPerFreshAddressAndNoMemoEntries() {
        // the 16-byte copy is a 32-byte array; an entry for each would double it
        assertThat((double) sprayBytes(false) / CALLS).as("bytes per check").isLessThanOrEqualTo(36.0);
    }

    @Test
    void readInPlaceASprayerOfFreshAddressesAllocatesNothing() {
        assertThat(Inet6InPlace.AVAILABLE).as("java.net opened to the test JVM (root pom's argLine)").isTrue();
        // a copy per check would show 32 B a check; < 1 B a check leaves room for the JIT's own rare allocations
        assertThat(sprayBytes(true)).as("bytes allocated by %d checks", CALLS).isLessThan(CALLS);
    }

    /** Bytes allocated by {@value #CALLS} checks of fresh addresses in one banned /64, each answered "banned". */
    private long sprayBytes(boolean inPlace) {
        BanEngine engine = engineBanning(v6(0x2001_0db8_0001_0002L, 1), inPlace);
        InetAddress[] probes = new InetAddress[CALLS];
        for (int i = 0; i < CALLS; i++) {
            probes[i] = v6(0x2001_0db8_0001_0002L, 0x1000_0000L + 7919L * i); // one /64, a fresh address each
        }
        boolean[] answers = new boolean[CALLS];
        long bytes = allocatedBy(() -> {
            for (int i = 0; i < CALLS; i++) {
                answers[i] = engine.isBanned(probes[i]);
            }
        });
        for (int i = 0; i < CALLS; i++) {
            assertThat(answers[i]).isTrue();
        }
        return bytes;
    }
}
