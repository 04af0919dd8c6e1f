package org.tlsjail.bridge.nftables;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.tlsjail.banengine.SourceKey;

/**
 * The jail's {@code ignoreip} as the elements of the table's exempt sets: an ignored address inside
 * a banned unit (a partner in an attacker's /64, or in its block when {@code ipv4-prefix} is below
 * 32) must still get through, as it does in the engine. Every entry is parsed into a
 * {@link SourceKey} (so only text formatted by us reaches nft) and entries lying inside another
 * entry of the list are left out: nft refuses overlapping intervals in one set.
 *
 * @param v4 the IPv4 entries, widest first
 * @param v6 the IPv6 entries, widest first
 */
record Exemptions(List<SourceKey> v4, List<SourceKey> v6) {
    static final Exemptions NONE = new Exemptions(List.of(), List.of());

    Exemptions {
        v4 = List.copyOf(v4);
        v6 = List.copyOf(v6);
    }

    /** @param ignoreIp {@code jail.ignoreip} as the jail holds it (already checked to be addresses or CIDR blocks) */
    static Exemptions of(List<String> ignoreIp) {
        List<SourceKey> keys = new ArrayList<>(ignoreIp.size());
        for (String s : ignoreIp) {
            keys.add(SourceKey.parse(s.trim()));
        }
        // widest first: an entry can then only lie inside one kept before it
        keys.sort(Comparator.comparingInt(SourceKey::prefixLength));
        List<SourceKey> v4 = new ArrayList<>();
        List<SourceKey> v6 = new ArrayList<>();
        for (SourceKey k : keys) {
            List<SourceKey> into = k.isIpv4() ? v4 : v6;
            if (into.stream().noneMatch(wide -> covers(wide, k))) {
                into.add(k);
            }
        }
        return new Exemptions(v4, v6);
    }

    boolean isEmpty() {
        return v4.isEmpty() && v6.isEmpty();
    }

    /** True if every address of {@code narrow} lies in {@code wide} (CIDR blocks nest or are disjoint). */
    static boolean covers(SourceKey wide, SourceKey narrow) {
        int p = wide.prefixLength();
        if (p > narrow.prefixLength()) {
            return false;
        }
        long hiMask = p >= 64 ? -1L : p == 0 ? 0 : -1L << (64 - p);
        long loMask = p <= 64 ? 0 : p == 128 ? -1L : -1L << (128 - p);
        return (narrow.hi() & hiMask) == wide.hi() && (narrow.lo() & loMask) == wide.lo();
    }
}
