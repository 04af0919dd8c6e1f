package org.tlsjail.cluster;

import java.net.InetAddress;
import org.tlsjail.banengine.Addresses;
import org.tlsjail.banengine.SourceKey;

/** Helpers between source keys and addresses. */
final class SourceKeys {
    private SourceKeys() {
    }

    /**
     * The first address of a key's prefix: under the same prefix settings it maps back to that
     * key, so the engine's address-based calls reach the same ban.
     */
    static InetAddress firstAddress(SourceKey key) {
        String text = key.toString();
        int slash = text.indexOf('/');
        return Addresses.parseLiteral(slash < 0 ? text : text.substring(0, slash));
    }
}
