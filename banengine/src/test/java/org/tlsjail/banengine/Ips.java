package org.tlsjail.banengine;

import java.net.InetAddress;

final class Ips {
    private Ips() {
    }

    static InetAddress ip(String literal) {
        return Addresses.parseLiteral(literal);
    }

    /** 10.x.y.z for the n-th distinct source. */
    static InetAddress v4(int n) {
        try {
            return InetAddress.getByAddress(new byte[] {10, (byte) (n >>> 16), (byte) (n >>> 8), (byte) n});
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }
}
