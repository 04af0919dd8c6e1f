package org.tlsjail.bench;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

/** IPv4/IPv6 source addresses for the benchmarks: built from numbers, never resolved. */
public final class SyntheticAddresses {
    private SyntheticAddresses() {
    }

    /** The IPv4 address whose 32 bits are {@code bits}. */
    public static InetAddress v4(int bits) {
        try {
            return InetAddress.getByAddress(new byte[] {
                (byte) (bits >>> 24), (byte) (bits >>> 16), (byte) (bits >>> 8), (byte) bits});
        } catch (UnknownHostException e) {
            throw new AssertionError(e); // only thrown for a wrong length
        }
    }

    /** An IPv6 address in 2001:db8::/32 whose last 64 bits are {@code low} and /64 is {@code net}. */
    public static InetAddress v6(int net, long low) {
        byte[] b = new byte[16];
        b[0] = 0x20;
        b[1] = 0x01;
        b[2] = 0x0d;
        b[3] = (byte) 0xb8;
        for (int i = 0; i < 4; i++) {
            b[4 + i] = (byte) (net >>> (24 - 8 * i));
        }
        for (int i = 0; i < 8; i++) {
            b[8 + i] = (byte) (low >>> (56 - 8 * i));
        }
        try {
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * {@code n} distinct random 32-bit values (fixed seed), split into what the benchmarks ban
     * and what they probe as misses, so the hash tables see Internet-like keys, not a sequence.
     */
    public static int[] distinctRandom(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Set<Integer> seen = new HashSet<>(n * 2);
        int[] out = new int[n];
        int k = 0;
        while (k < n) {
            int v = r.nextInt();
            if (seen.add(v)) {
                out[k++] = v;
            }
        }
        return out;
    }
}
