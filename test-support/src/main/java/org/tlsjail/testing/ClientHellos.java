package org.tlsjail.testing;

import java.nio.ByteBuffer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;

/** TLS records for tests that play a client byte by byte. */
public final class ClientHellos {
    private ClientHellos() {
    }

    /**
     * A real ClientHello record, as the JDK's TLS client sends it first, offering {@code protocols}
     * (e.g. "TLSv1.3", "TLSv1.2"; none: the JDK's defaults).
     */
    public static byte[] jdk(String... protocols) throws Exception {
        SSLEngine e = SSLContext.getDefault().createSSLEngine("localhost", 443);
        e.setUseClientMode(true);
        if (protocols.length > 0) {
            e.setEnabledProtocols(protocols);
        }
        ByteBuffer out = ByteBuffer.allocate(e.getSession().getPacketBufferSize());
        if (e.wrap(ByteBuffer.allocate(0), out).bytesProduced() == 0) {
            throw new IllegalStateException("no ClientHello produced");
        }
        out.flip();
        byte[] b = new byte[out.remaining()];
        out.get(b);
        return b;
    }
}
