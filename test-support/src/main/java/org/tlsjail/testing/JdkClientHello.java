package org.tlsjail.testing;

import java.nio.ByteBuffer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;

/** The bytes of a real TLS ClientHello record, from the JDK's own TLS client (no network). */
public final class JdkClientHello {
    private JdkClientHello() {
    }

    /** A ClientHello offering {@code protocols} (e.g. "TLSv1.3", "TLSv1.2"). */
    public static byte[] bytes(String... protocols) throws Exception {
        SSLEngine e = SSLContext.getDefault().createSSLEngine("localhost", 443);
        e.setUseClientMode(true);
        e.setEnabledProtocols(protocols);
        ByteBuffer out = ByteBuffer.allocate(e.getSession().getPacketBufferSize());
        SSLEngineResult r = e.wrap(ByteBuffer.allocate(0), out);
        if (r.bytesProduced() == 0) {
            throw new AssertionError("no ClientHello produced");
        }
        out.flip();
        byte[] b = new byte[out.remaining()];
        out.get(b);
        return b;
    }
}
