package org.tlsjail.banengine;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The engine's settings: immutable, validated on construction, named as in the YAML
 * ({@code jail.*}) so an error message can be acted on as it stands. {@link #defaults()} is
 * OS4X's published jail: maxretry 3, findtime 600 s, bantime 3600 s.
 */
public record JailConfig(int maxRetry, Duration findTime, Duration banTime, List<String> ignoreIp,
                         BanTimeIncrement increment, int ipv4Prefix, int ipv6Prefix,
                         int maxTrackedKeys, int maxBans) {

    public JailConfig {
        ignoreIp = List.copyOf(ignoreIp);
        if (maxRetry < 1) {
            throw new IllegalArgumentException("jail.maxretry must be at least 1, got " + maxRetry);
        }
        if (maxRetry > 1000) {
            throw new IllegalArgumentException("jail.maxretry must be at most 1000, got " + maxRetry);
        }
        if (findTime.isNegative() || findTime.isZero()) {
            throw new IllegalArgumentException("jail.findtime must be positive, got " + FailDuration.format(findTime));
        }
        if (findTime.compareTo(Duration.ofDays(14)) > 0) {
            throw new IllegalArgumentException("jail.findtime must be at most 14d, got " + FailDuration.format(findTime));
        }
        if (banTime.isZero() || (banTime.isNegative() && !banTime.equals(FailDuration.PERMANENT))) {
            throw new IllegalArgumentException("jail.bantime must be positive or -1 (permanent), got "
                    + banTime.toMillis() / 1000.0 + "s");
        }
        if (ipv4Prefix < 8 || ipv4Prefix > 32) {
            throw new IllegalArgumentException("jail.ipv4-prefix must be between 8 and 32, got " + ipv4Prefix);
        }
        if (ipv6Prefix < 16 || ipv6Prefix > 128) {
            throw new IllegalArgumentException("jail.ipv6-prefix must be between 16 and 128, got " + ipv6Prefix);
        }
        if (maxTrackedKeys < 1) {
            throw new IllegalArgumentException("jail.max-tracked must be at least 1, got " + maxTrackedKeys);
        }
        if (maxBans < 1) {
            throw new IllegalArgumentException("jail.max-bans must be at least 1, got " + maxBans);
        }
        ignoreIp.forEach(IpRange::parse);
    }

    public static JailConfig defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder().maxRetry(maxRetry).findTime(findTime).banTime(banTime).ignoreIp(ignoreIp)
                .increment(increment).ipv4Prefix(ipv4Prefix).ipv6Prefix(ipv6Prefix)
                .maxTrackedKeys(maxTrackedKeys).maxBans(maxBans);
    }

    public boolean permanentBans() {
        return banTime.isNegative();
    }

    List<IpRange> ignoreRanges() {
        List<IpRange> ranges = new ArrayList<>(ignoreIp.size());
        ignoreIp.forEach(s -> ranges.add(IpRange.parse(s)));
        return ranges;
    }

    /**
     * The ignoreip entries narrower than the ban unit of their family (an address when
     * {@code ipv4-prefix} is below 32; any single IPv6 address under a /64 unit): a source inside
     * one can share a banned unit with others (a partner in an attacker's /64) and must still be
     * let in. Of one family; the IPv4 list is empty in the usual set-up ({@code ipv4-prefix: 32}).
     */
    List<IpRange> ignoreRangesInsideUnits(boolean ipv4) {
        List<IpRange> inside = new ArrayList<>();
        for (IpRange r : ignoreRanges()) {
            SourceKey k = r.prefix();
            if (k.isIpv4() == ipv4 && k.prefixLength() > (ipv4 ? 96 + ipv4Prefix : ipv6Prefix)) {
                inside.add(r);
            }
        }
        return List.copyOf(inside);
    }

    SourceKey keyOf(InetAddress address) {
        return SourceKey.of(address, ipv4Prefix, ipv6Prefix);
    }

    /**
     * True if {@code key} is a ban unit under these settings (an IPv4 key of {@code ipv4-prefix},
     * an IPv6 key of {@code ipv6-prefix}): the only keys this engine makes, and the only ones it
     * may take from elsewhere. A key like {@code 0.0.0.0/0} would match no connection here but
     * would reach every host-level bridge as "drop everyone".
     */
    public boolean isBanUnit(SourceKey key) {
        return key.prefixLength() == (key.isIpv4() ? 96 + ipv4Prefix : ipv6Prefix);
    }

    /** Mutable companion for building a {@link JailConfig}; validation happens in {@link #build()}. */
    public static final class Builder {
        private int maxRetry = 3;
        private Duration findTime = Duration.ofSeconds(600);
        private Duration banTime = Duration.ofSeconds(3600);
        private List<String> ignoreIp = List.of();
        private BanTimeIncrement increment = BanTimeIncrement.OFF;
        private int ipv4Prefix = 32;
        private int ipv6Prefix = 64;
        private int maxTrackedKeys = 1_000_000;
        private int maxBans = 100_000;

        private Builder() {
        }

        public Builder maxRetry(int v) { maxRetry = v; return this; }
        public Builder findTime(Duration v) { findTime = v; return this; }
        public Builder banTime(Duration v) { banTime = v; return this; }
        public Builder ignoreIp(List<String> v) { ignoreIp = v; return this; }
        public Builder increment(BanTimeIncrement v) { increment = v; return this; }
        public Builder ipv4Prefix(int v) { ipv4Prefix = v; return this; }
        public Builder ipv6Prefix(int v) { ipv6Prefix = v; return this; }
        public Builder maxTrackedKeys(int v) { maxTrackedKeys = v; return this; }
        public Builder maxBans(int v) { maxBans = v; return this; }

        public JailConfig build() {
            return new JailConfig(maxRetry, findTime, banTime, ignoreIp, increment, ipv4Prefix, ipv6Prefix,
                    maxTrackedKeys, maxBans);
        }
    }
}
