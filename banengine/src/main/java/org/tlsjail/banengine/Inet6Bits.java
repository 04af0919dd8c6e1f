package org.tlsjail.banengine;

import java.net.Inet6Address;
import java.util.List;

/**
 * The 128 bits of an IPv6 source for {@link BanEngine#isBanned}, without the copy
 * {@link Inet6Address#getAddress()} makes: read in place where the JVM allows it
 * ({@link Inet6InPlace}), else from a memo of recently seen addresses, so a source retrying from
 * one address costs no copy after its second check. The rest of this comment is about the memo.
 *
 * <p>A fixed array of {@value #SLOTS} immutable entries, indexed by {@link Inet6Address#hashCode()}
 * and confirmed with {@link Inet6Address#equals}: both read the address's own bytes without
 * copying, and equality is byte equality (the scope id is ignored, as {@code getAddress()}
 * ignores it). An entry holds only what the address is, never a ban decision, so it cannot go
 * stale; masking to the configured prefix happens per call ({@link #keyHi}, {@link #keyLo}).
 *
 * <p>Thread safety without a lock: an entry's fields are final, so a plain array store publishes
 * it safely (JLS 17.5) and a reader sees either null, an older entry or the newer one, each
 * complete. Lost updates between racing writers only cost a later miss.
 *
 * <p>Admission on second sight: an address gets an entry only if the last address that missed in
 * its slot hashed the same. A repeating source (the attacker that keeps trying from one address)
 * costs one copy on its first and second connection and nothing after; a sprayer whose every
 * connection comes from a fresh address of its /64 costs the one copy per connection it cost
 * before and does not churn the entries of repeating sources. Memory is bounded: {@value #SLOTS}
 * entries of 32 B, each keeping one {@code Inet6Address} (about 120 B) reachable: about 0.6 MB at
 * most, reached only under IPv6 traffic.
 *
 * <p>{@code Inet6Address.hashCode()} is the sum of the address's four 32-bit words, so anyone can
 * pick addresses that share a slot (the words in another order). That only costs copies: the
 * {@code equals} check means a slot never answers for an address other than its own.
 */
final class Inet6Bits {
    static final int SLOTS = 4096;
    private static final int SHIFT = 32 - Integer.numberOfTrailingZeros(SLOTS);

    /** One address and its bits; immutable, so racy publication through the array is safe. */
    private static final class Entry {
        final Inet6Address address;
        final long hi;
        final long lo;

        Entry(Inet6Address address, long hi, long lo) {
            this.address = address;
            this.hi = hi;
            this.lo = lo;
        }
    }

    /** Read the address's own array ({@link Inet6InPlace}) instead of the memo. */
    private final boolean inPlace;
    private final Entry[] entries = new Entry[SLOTS];
    /** Per slot, the hash of the last address that missed there (a hint: a racy int is fine). */
    private final int[] lastMiss = new int[SLOTS];

    /** {@code inPlace}: read in place if {@link Inet6InPlace#AVAILABLE} (then the memo stays empty), else the memo. */
    Inet6Bits(boolean inPlace) {
        this.inPlace = inPlace && Inet6InPlace.AVAILABLE;
    }

    /**
     * {@link BanTable#untilOf} for the key {@link SourceKey#of} makes of {@code address}: the bits
     * from its entry if it has one, else from one copy of its bytes.
     */
    long untilOf(BanTable table, Inet6Address address, int ipv4Prefix, int ipv6Prefix) {
        return untilOf(table, address, ipv4Prefix, ipv6Prefix, List.of(), List.of());
    }

    /**
     * As {@link #untilOf(BanTable, Inet6Address, int, int)}, but 0 (not banned) where the address
     * lies in one of the ignoreip ranges narrower than its ban unit ({@code v4Inside} for an
     * IPv4-mapped address, {@code v6Inside} otherwise), looked at only when its key has an entry:
     * the answer {@code IpRange.contains} gives, from the same bits, without another copy.
     */
    long untilOf(BanTable table, Inet6Address address, int ipv4Prefix, int ipv6Prefix,
                 List<IpRange> v4Inside, List<IpRange> v6Inside) {
        long hi;
        long lo;
        if (inPlace) {
            byte[] own = Inet6InPlace.bytes(address);
            hi = Inet6InPlace.hi(own);
            lo = Inet6InPlace.lo(own);
            return decide(table, hi, lo, ipv4Prefix, ipv6Prefix, v4Inside, v6Inside);
        }
        int h = address.hashCode();
        int slot = (h * 0x9E3779B9) >>> SHIFT;
        Entry e = entries[slot];
        if (e != null && e.address.equals(address)) {
            hi = e.hi;
            lo = e.lo;
        } else {
            byte[] b = address.getAddress();
            hi = bits(b, 0);
            lo = bits(b, 8);
            // the entry is made only on this branch, so a miss that is not admitted allocates only the copy
            if (lastMiss[slot] == h) {
                entries[slot] = new Entry(address, hi, lo);
            } else {
                lastMiss[slot] = h;
            }
        }
        return decide(table, hi, lo, ipv4Prefix, ipv6Prefix, v4Inside, v6Inside);
    }

    private static long decide(BanTable table, long hi, long lo, int ipv4Prefix, int ipv6Prefix,
                               List<IpRange> v4Inside, List<IpRange> v6Inside) {
        long until = table.untilOf(keyHi(hi, lo, ipv6Prefix), keyLo(hi, lo, ipv4Prefix, ipv6Prefix));
        if (until == 0) {
            return 0;
        }
        boolean v4 = isIpv4Mapped(hi, lo);
        return isIn(v4 ? v4Inside : v6Inside, hi, lo, v4) ? 0 : until;
    }

    /**
     * {@code IpRange.contains} on an address's bits (an IPv4 address in its mapped form, {@code v4}
     * true); ranges of the address's own family only.
     */
    static boolean isIn(List<IpRange> ranges, long hi, long lo, boolean v4) {
        for (int i = 0; i < ranges.size(); i++) { // indexed: no iterator on the hot path
            SourceKey p = ranges.get(i).prefix();
            int length = p.prefixLength();
            boolean in = v4
                    ? p.hi() == 0 && (SourceKey.V4_MAPPED | (lo & Masks.v4(length - 96) & 0xFFFF_FFFFL)) == p.lo()
                    : (hi & Masks.hi(length)) == p.hi() && (lo & Masks.lo(length)) == p.lo();
            if (in) {
                return true;
            }
        }
        return false;
    }

    private static long bits(byte[] b, int off) {
        return (b[off] & 0xFFL) << 56 | (b[off + 1] & 0xFFL) << 48 | (b[off + 2] & 0xFFL) << 40
                | (b[off + 3] & 0xFFL) << 32 | (b[off + 4] & 0xFFL) << 24 | (b[off + 5] & 0xFFL) << 16
                | (b[off + 6] & 0xFFL) << 8 | (b[off + 7] & 0xFFL);
    }

    /** IPv4-mapped ({@code ::ffff:a.b.c.d}): counted and banned as the IPv4 address, as {@link SourceKey#of} does. */
    static boolean isIpv4Mapped(long hi, long lo) {
        return hi == 0 && (lo >>> 32) == 0xFFFF;
    }

    /** {@link SourceKey#hi()} of the key {@link SourceKey#of} makes for the address with these bits. */
    static long keyHi(long hi, long lo, int ipv6Prefix) {
        return isIpv4Mapped(hi, lo) ? 0 : hi & Masks.hi(ipv6Prefix);
    }

    /** {@link SourceKey#lo()} of the key {@link SourceKey#of} makes for the address with these bits. */
    static long keyLo(long hi, long lo, int ipv4Prefix, int ipv6Prefix) {
        return isIpv4Mapped(hi, lo)
                ? SourceKey.V4_MAPPED | (lo & Masks.v4(ipv4Prefix) & 0xFFFF_FFFFL)
                : lo & Masks.lo(ipv6Prefix);
    }
}
