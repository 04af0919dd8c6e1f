package org.tlsjail.banengine;

/** Prefix masks, kept apart so the bit arithmetic is written once. */
final class Masks {
    private Masks() {
    }

    static int v4(int prefix) {
        return prefix == 0 ? 0 : -1 << (32 - prefix);
    }

    static long hi(int prefix) {
        if (prefix >= 64) {
            return -1L;
        }
        return prefix == 0 ? 0 : -1L << (64 - prefix);
    }

    static long lo(int prefix) {
        if (prefix <= 64) {
            return 0;
        }
        return prefix == 128 ? -1L : -1L << (128 - prefix);
    }
}
