package org.tlsjail.config;

import java.net.InetAddress;
import java.net.InetSocketAddress;

/** {@code listen.*}: where the TLS port is opened. Port 0 picks a free port (tests). */
public record ListenSettings(InetAddress address, int port) {
    public InetSocketAddress socketAddress() {
        return new InetSocketAddress(address, port);
    }
}
