package org.tlsjail.banengine;

import java.net.InetAddress;

/**
 * What the engine counts failures for and bans: an address masked to the configured prefix.
 *
 * <p>Every key is held as a 128-bit IPv6 prefix; an IPv4 address is held in its IPv4-mapped form
 * ({@code ::ffff:a.b.c.d}), so IPv4 and IPv6 keys can never collide and {@code ::ffff:10.0.0.1}
 * is the same source as {@code 10.0.0.1}. {@code prefixLength} is in IPv6 terms (an IPv4 /32 is
 * 128); {@link #toString()} prints it the way a person writes it ({@code 10.0.0.1},
 * {@code 10.0.0.0/24}, {@code 2001:db8:1:2::/64}), which is also what Fail2Ban and nft accept.
 */
public record SourceKey(long hi, long lo, int prefixLength) {

    static final long V4_MAPPED = 0x0000_FFFF_0000_0000L;

    public SourceKey {
        if (prefixLength < 0 || prefixLength > 128) {
            throw new IllegalArgumentException("prefix length out of range: " + prefixLength);
        }
    }

    /** The key of {@code address} with IPv4 masked to {@code ipv4Prefix}, IPv6 to {@code ipv6Prefix}. */
    public static SourceKey of(InetAddress address, int ipv4Prefix, int ipv6Prefix) {
        byte[] b = address.getAddress();
        if (b.length == 4 || Addresses.isIpv4Mapped(b)) {
            int v4 = Addresses.ipv4Bits(b);
            return ofIpv4(v4, ipv4Prefix);
        }
        return ofIpv6(Addresses.hi(b), Addresses.lo(b), ipv6Prefix);
    }

    static SourceKey ofIpv4(int v4, int ipv4Prefix) {
        return new SourceKey(0, V4_MAPPED | (v4 & Masks.v4(ipv4Prefix) & 0xFFFF_FFFFL), 96 + ipv4Prefix);
    }

    static SourceKey ofIpv6(long hi, long lo, int ipv6Prefix) {
        return new SourceKey(hi & Masks.hi(ipv6Prefix), lo & Masks.lo(ipv6Prefix), ipv6Prefix);
    }

    /** Parses what {@link #toString()} prints: an address, or an address with a {@code /prefix}. */
    public static SourceKey parse(String text) {
        int slash = text.indexOf('/');
        InetAddress address = Addresses.parseLiteral(slash < 0 ? text : text.substring(0, slash));
        boolean v4 = Addresses.isIpv4(address);
        int prefix = v4 ? 32 : 128;
        if (slash >= 0) {
            prefix = Addresses.parsePrefix(text.substring(slash + 1), v4 ? 32 : 128, text);
        }
        return v4 ? of(address, prefix, 128) : of(address, 32, prefix);
    }

    public boolean isIpv4() {
        return hi == 0 && (lo >>> 32) == 0xFFFF && prefixLength >= 96;
    }

    /** True if {@code address} lies inside this key's prefix. */
    public boolean contains(InetAddress address) {
        SourceKey k = isIpv4() ? of(address, prefixLength - 96, 128) : of(address, 32, prefixLength);
        return k.equals(this);
    }

    @Override
    public String toString() {
        if (isIpv4()) {
            int bits = prefixLength - 96;
            String a = Addresses.formatIpv4((int) lo);
            return bits == 32 ? a : a + "/" + bits;
        }
        String a = Addresses.formatIpv6(hi, lo);
        return prefixLength == 128 ? a : a + "/" + prefixLength;
    }
}
