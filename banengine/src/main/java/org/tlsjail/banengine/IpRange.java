package org.tlsjail.banengine;

import java.net.InetAddress;

/** One {@code ignoreip} entry: an address or a CIDR block, IPv4 or IPv6. */
record IpRange(SourceKey prefix, String text) {

    static IpRange parse(String text) {
        try {
            return new IpRange(SourceKey.parse(text), text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("jail.ignoreip: '" + text + "' is not an address or CIDR block ("
                    + e.getMessage() + ")", e);
        }
    }

    boolean contains(InetAddress address) {
        return Addresses.isIpv4(address) == prefix.isIpv4() && prefix.contains(address);
    }
}
