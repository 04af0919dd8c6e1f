package org.tlsjail.hostile;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Distinct loopback source addresses: every address in 127.0.0.0/8 is local on Linux, so a client
 * socket bound to 127.a.b.c is a distinct source for the listener. Index i maps to an address in
 * a block starting at 127.{firstOctet}.0.1, skipping .0 and .255 host octets.
 */
final class Sources {
    private Sources() {
    }

    /** The i-th address of the block that starts at 127.{secondOctet}.0.1 (254 addresses per /24). */
    static InetAddress of(int secondOctet, int i) {
        int perBlock = 254;
        int third = i / perBlock;
        int fourth = i % perBlock + 1;
        int second = secondOctet + third / 256;
        third %= 256;
        if (second > 255) {
            throw new IllegalArgumentException("source index " + i + " beyond 127.255.255.254");
        }
        try {
            return InetAddress.getByAddress(new byte[] {127, (byte) second, (byte) third, (byte) fourth});
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
