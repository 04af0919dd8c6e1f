package org.tlsjail.bench.load;

import java.net.InetAddress;
import java.util.concurrent.atomic.AtomicInteger;
import org.tlsjail.bench.SyntheticAddresses;

/**
 * Source addresses inside 127.0.0.0/8 (every one is a distinct client on Linux loopback: the
 * client socket is bound to it). Each role of the harness takes its own /16 so they never mix:
 * legitimate 127.0.x.x, banned flood 127.1.x.x, fresh failing sources 127.2.x.x and up.
 */
public final class LoopbackSources {
    private final int base;
    private final int size;
    private final AtomicInteger next = new AtomicInteger();

    /** {@code size} addresses from 127.{@code secondOctet}.0.1 on (crossing into the next /16s if large). */
    public LoopbackSources(int secondOctet, int size) {
        if (size < 1 || size > (0xFF_FFFF - (secondOctet << 16))) {
            throw new IllegalArgumentException("size out of 127.0.0.0/8: " + size);
        }
        this.base = 0x7F00_0000 | (secondOctet << 16) | 1;
        this.size = size;
    }

    /** The i-th address (modulo size). */
    public InetAddress get(int i) {
        return SyntheticAddresses.v4(base + Math.floorMod(i, size));
    }

    /** The next address in turn, wrapping around after {@code size}. */
    public InetAddress next() {
        return get(next.getAndIncrement());
    }

    public int size() {
        return size;
    }
}
