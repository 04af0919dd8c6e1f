package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * {@code isBanned}'s IPv6 paths (the {@link Inet6Bits} memo, and the bits read in place by
 * {@link Inet6InPlace}) give exactly the answer the old path gave, which keyed every address with {@link SourceKey#of}: for every prefix length, IPv4-mapped
 * addresses held as {@code Inet6Address} (counted as IPv4), any scope id, addresses crafted to
 * share a memo slot, and threads racing on the same slots.
 */
class Inet6BitsPropertyTest {

    /** Random 16-byte addresses: a third IPv4-mapped, a third sharing a /48 (so prefixes matter), the rest anything. */
    @Provide
    Arbitrary<byte[]> addresses() {
        return Arbitraries.longs().flatMap(seed -> Arbitraries.integers().between(0, 2).map(kind -> {
            SplittableRandom r = new SplittableRandom(seed);
            byte[] b = new byte[16];
            r.nextBytes(b);
            if (kind == 0) {
                java.util.Arrays.fill(b, 0, 10, (byte) 0);
                b[10] = (byte) 0xFF;
                b[11] = (byte) 0xFF;
            } else if (kind == 1) {
                b[0] = 0x20;
                b[1] = 0x01;
                b[2] = 0x0d;
                b[3] = (byte) 0xb8;
                b[4] = 0;
                b[5] = 0;
            }
            return b;
        }));
    }

    /** Flips one random bit of {@code b}: inside or outside whatever prefix is in force, so probes hit and miss. */
    private static byte[] neighbour(byte[] b, int bit) {
        byte[] n = b.clone();
        n[bit / 8] ^= (byte) (0x80 >>> (bit % 8));
        return n;
    }

    static Inet6Address inet6(byte[] b, int scope) {
        try {
            // unlike InetAddress.getByAddress, this keeps an IPv4-mapped address an Inet6Address
            return Inet6Address.getByAddress(null, b, scope);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @Property(tries = 2000)
    void keyMatchesSourceKeyOfForEveryPrefix(@ForAll("addresses") byte[] b, @ForAll @IntRange(min = 0, max = 32) int v4,
                                              @ForAll @IntRange(min = 0, max = 128) int v6) {
        SourceKey old = SourceKey.of(inet6(b, -1), v4, v6);
        long hi = Addresses.hi(b);
        long lo = Addresses.lo(b);
        assertThat(Inet6Bits.keyHi(hi, lo, v6)).isEqualTo(old.hi());
        assertThat(Inet6Bits.keyLo(hi, lo, v4, v6)).isEqualTo(old.lo());
    }

    /**
     * The whole lookup, every prefix 0..128: a table holding the old key of {@code banned} answers
     * a probe (a one-bit neighbour, with a scope id) exactly when the old keys are equal, on the
     * first sight of the probe (no entry), the second (admitted) and the third (from the entry).
     */
    @Property(tries = 2000)
    void lookupMatchesOldPath(@ForAll("addresses") byte[] banned, @ForAll @IntRange(min = 0, max = 127) int bit,
                              @ForAll @IntRange(min = 0, max = 32) int v4, @ForAll @IntRange(min = 0, max = 128) int v6,
                              @ForAll @IntRange(min = -1, max = 3) int scope, @ForAll boolean inPlace) {
        BanTable table = new BanTable();
        SourceKey key = SourceKey.of(inet6(banned, -1), v4, v6);
        table.put(key.hi(), key.lo(), 42);
        Inet6Bits memo = new Inet6Bits(inPlace);
        for (byte[] probe : List.of(banned, neighbour(banned, bit))) {
            boolean expected = SourceKey.of(inet6(probe, scope), v4, v6).equals(key);
            for (int sight = 1; sight <= 3; sight++) {
                assertThat(memo.untilOf(table, inet6(probe, scope), v4, v6) == 42)
                        .as("probe %s sight %d, /%d /%d", inet6(probe, scope), sight, v4, v6).isEqualTo(expected);
            }
        }
    }

    /**
     * Through the engine, with the configured prefixes: mapped, native and IPv4 sources mixed, and
     * some probes (neighbours inside a banned unit) in ignoreip as single addresses, which the old
     * path let in with {@code IpRange.contains}.
     */
    @Property(tries = 300)
    void engineAnswersAsTheOldKeyDid(@ForAll("sets") List<byte[]> bannedSet, @ForAll("sets") List<byte[]> others,
                                     @ForAll @IntRange(min = 8, max = 32) int v4,
                                     @ForAll @IntRange(min = 16, max = 128) int v6, @ForAll long seed,
                                     @ForAll boolean inPlace) {
        SplittableRandom r = new SplittableRandom(seed);
        List<InetAddress> probes = new ArrayList<>();
        List<String> ignore = new ArrayList<>();
        for (byte[] b : bannedSet) {
            InetAddress p = inet6(neighbour(b, r.nextInt(128)), r.nextInt(-1, 3));
            probes.add(p);
            if (Addresses.isIpv4Mapped(p.getAddress())) {
                probes.add(v4Of(p.getAddress())); // the same neighbour as an Inet4Address (the engine's IPv4 path)
            }
            if (r.nextInt(3) == 0) {
                ignore.add(SourceKey.of(p, 32, 128).toString()); // the address alone, as an operator writes it
            }
        }
        JailConfig config = JailConfig.builder().ipv4Prefix(v4).ipv6Prefix(v6).ignoreIp(ignore).build();
        BanEngine engine = new BanEngine(config, new ManualClock(), inPlace);
        Set<SourceKey> keys = new HashSet<>();
        for (byte[] b : bannedSet) {
            if (!engine.isIgnored(inet6(b, -1))) {
                engine.ban(inet6(b, -1), Duration.ofHours(1), "t");
                keys.add(SourceKey.of(inet6(b, -1), v4, v6));
            }
        }
        others.forEach(b -> probes.add(inet6(b, -1)));
        for (byte[] b : bannedSet) {
            if (Addresses.isIpv4Mapped(b)) {
                probes.add(v4Of(b)); // the same source as the JDK's accept would give it
            }
        }
        for (int round = 0; round < 3; round++) {
            for (InetAddress p : probes) {
                boolean ignoredInside = config.ignoreRangesInsideUnits(Addresses.isIpv4(p)).stream()
                        .anyMatch(range -> range.contains(p));
                assertThat(engine.isBanned(p)).as("%s round %d, /%d /%d, ignoreip %s", p, round, v4, v6, ignore)
                        .isEqualTo(keys.contains(SourceKey.of(p, v4, v6)) && !ignoredInside);
            }
        }
    }

    @Provide
    Arbitrary<List<byte[]>> sets() {
        return addresses().list().ofMinSize(1).ofMaxSize(12);
    }

    private static InetAddress v4Of(byte[] b) {
        try {
            return InetAddress.getByAddress(java.util.Arrays.copyOfRange(b, 12, 16));
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * Inet6Address.hashCode() adds the address's four 32-bit words, so an attacker can pick an
     * address with the same hash (same memo slot) as a partner's: its words in another order. The
     * slot must never answer for the other address, whichever got the entry.
     */
    @Test
    void anAddressWithTheSameHashNeverBorrowsAnotherOnesEntry() {
        byte[] partner = {0x20, 0x01, 0x0d, (byte) 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
        byte[] attacker = {0, 0, 0, 0, 0x20, 0x01, 0x0d, (byte) 0xb8, 0, 0, 0, 7, 0, 1, 0, 0};
        assertThat(inet6(attacker, -1).hashCode()).isEqualTo(inet6(partner, -1).hashCode());
        BanEngine engine = new BanEngine(JailConfig.builder().ipv6Prefix(128).build(), new ManualClock(), false);
        engine.ban(inet6(attacker, -1), Duration.ofHours(1), "t");
        for (int i = 0; i < 5; i++) {
            assertThat(engine.isBanned(inet6(partner, -1))).as("partner, sight %d", i).isFalse();
            assertThat(engine.isBanned(inet6(partner, -1))).as("partner again, sight %d", i).isFalse(); // now admitted
            assertThat(engine.isBanned(inet6(attacker, -1))).as("attacker, sight %d", i).isTrue();
            assertThat(engine.isBanned(inet6(attacker, -1))).as("attacker again, sight %d", i).isTrue();
        }
    }

    /**
     * Threads race on the same slots (addresses built to share hashes, admitted and replaced over
     * and over) while bans stay fixed: every answer must be the old path's. Bounded by a count of
     * lookups, not by time.
     */
    @Test
    void racingThreadsOnSharedSlotsAlwaysGetTheOldAnswer() throws Exception {
        BanEngine engine = new BanEngine(JailConfig.builder().ipv6Prefix(64).build(), new ManualClock(), false);
        List<InetAddress> probes = new ArrayList<>();
        List<Boolean> expected = new ArrayList<>();
        Set<SourceKey> keys = new HashSet<>();
        for (int i = 0; i < 64; i++) {
            // word order permuted: 0x2001db8 in word 0 or word 1, so pairs share Inet6Address.hashCode()
            byte[] a = {0x20, 0x01, 0x0d, (byte) 0xb8, 0, 0, 0, (byte) i, 0, 0, 0, 0, 0, 0, 0, 1};
            byte[] b = {0, 0, 0, (byte) i, 0x20, 0x01, 0x0d, (byte) 0xb8, 0, 0, 0, 0, 0, 0, 0, 1};
            if (i % 2 == 0) {
                engine.ban(inet6(a, -1), Duration.ofHours(1), "t");
                keys.add(SourceKey.of(inet6(a, -1), 32, 64));
            }
            probes.add(inet6(a, -1));
            probes.add(inet6(b, -1));
            byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xFF, (byte) 0xFF, 10, 0, 0, (byte) i};
            if (i % 3 == 0) {
                engine.ban(v4Of(mapped), Duration.ofHours(1), "t");
                keys.add(SourceKey.of(v4Of(mapped), 32, 64));
            }
            probes.add(inet6(mapped, -1));
        }
        probes.forEach(p -> expected.add(keys.contains(SourceKey.of(p, 32, 64))));
        assertThat(expected).contains(true, false);
        int threads = 4;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int seed = t;
                results.add(pool.submit(() -> {
                    SplittableRandom r = new SplittableRandom(seed);
                    start.await();
                    int wrong = 0;
                    for (int n = 0; n < 200_000; n++) {
                        int i = r.nextInt(probes.size());
                        // a fresh object each time, as the JDK's accept makes one per connection
                        InetAddress p = inet6(probes.get(i).getAddress(), -1);
                        if (engine.isBanned(p) != expected.get(i)) {
                            wrong++;
                        }
                    }
                    return wrong;
                }));
            }
            start.countDown();
            for (Future<Integer> f : results) {
                assertThat(f.get(5, TimeUnit.MINUTES)).as("wrong answers").isZero();
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
