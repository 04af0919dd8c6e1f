package org.tlsjail.hostile;

import java.io.DataInputStream;
import java.io.File;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/** Real ClientHello records to truncate and mutate. */
final class ClientHellos {
    private ClientHellos() {
    }

    /**
     * The first record {@code openssl s_client} sends, captured on a raw server socket; if openssl
     * cannot be run, the JDK TLS client's ClientHello (from an SSLEngine, no network).
     */
    static byte[] capture() throws Exception {
        return capture(new String[0]);
    }

    /** As {@link #capture()}, with extra s_client options (e.g. {@code -tls1_2}). */
    static byte[] capture(String... options) throws Exception {
        try (ServerSocket ss = new ServerSocket()) {
            ss.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
            ss.setSoTimeout(10_000);
            java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("openssl", "s_client", "-connect",
                    "127.0.0.1:" + ss.getLocalPort(), "-servername", "localhost"));
            cmd.addAll(java.util.List.of(options));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            try (Socket s = ss.accept()) {
                s.setSoTimeout(10_000);
                DataInputStream in = new DataInputStream(s.getInputStream());
                byte[] header = new byte[5];
                in.readFully(header);
                int len = ((header[3] & 0xFF) << 8) | (header[4] & 0xFF);
                byte[] record = Arrays.copyOf(header, 5 + len);
                in.readFully(record, 5, len);
                return record;
            } finally {
                p.destroy();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (java.io.IOException e) {
            return jdkClientHello();
        }
    }

    static byte[] jdkClientHello() throws Exception {
        return org.tlsjail.testing.ClientHellos.jdk();
    }
}
