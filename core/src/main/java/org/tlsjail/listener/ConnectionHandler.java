package org.tlsjail.listener;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLSocket;

/**
 * The application side: gets every connection whose handshake succeeded. Runs on the listener's
 * application executor, one call per connection; the listener closes the socket when the call returns.
 */
@FunctionalInterface
public interface ConnectionHandler {
    /**
     * @param socket    the established TLS socket
     * @param remote    the client's address and port
     * @param peerChain the verified client certificate chain, leaf first (empty if none was required and none sent)
     */
    void handle(SSLSocket socket, InetSocketAddress remote, List<X509Certificate> peerChain) throws IOException;
}
