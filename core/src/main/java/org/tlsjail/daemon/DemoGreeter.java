package org.tlsjail.daemon;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.List;
import org.tlsjail.banengine.Addresses;

/**
 * What an accepted connection gets when no {@code forward} is configured: one line naming the
 * client certificate's subject, so the quick start shows a working mutual-TLS session.
 */
final class DemoGreeter {
    private DemoGreeter() {
    }

    /**
     * @param client the client's address as tlsjail sees it: behind a balancer, the one its PROXY
     *               header named
     */
    static String greeting(List<X509Certificate> chain, InetSocketAddress client) {
        String who = chain == null || chain.isEmpty() ? "(no client certificate)"
                : printable(chain.get(0).getSubjectX500Principal().getName());
        return "Hello " + who + " at " + Addresses.format(client.getAddress())
                + ": mutual TLS with tlsjail works. Bye.\n";
    }

    static void greet(Socket socket, List<X509Certificate> chain, InetSocketAddress client) {
        try (socket) {
            OutputStream out = socket.getOutputStream();
            out.write(greeting(chain, client).getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            // the client went away; nothing to tell it
        }
    }

    /** The subject is client-controlled: printable ASCII only, bounded length. */
    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && sb.length() < 200; i++) {
            char c = s.charAt(i);
            sb.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return sb.toString();
    }
}
