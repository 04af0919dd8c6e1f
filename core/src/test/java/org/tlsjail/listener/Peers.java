package org.tlsjail.listener;

import java.io.File;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.tlsjail.testing.ClientHellos;

/** Real TLS peers for the tests: openssl s_client processes, time-bound, stdin empty. */
final class Peers {
    private Peers() {
    }

    record Run(int exit, String output) {
        /** s_client printed the server's certificate: the server got as far as its Certificate message. */
        boolean sawServerCertificate() {
            return output.contains("-----BEGIN CERTIFICATE-----");
        }
    }

    static Run sClient(InetSocketAddress server, String bindAddress, String... options) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect",
                "127.0.0.1:" + server.getPort(), "-bind", bindAddress + ":0", "-servername", "localhost"));
        cmd.addAll(List.of(options));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process p = pb.start();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("openssl s_client timed out: " + cmd);
        }
        return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    /** The bytes of a real TLS ClientHello (from the JDK's own TLS client). */
    static byte[] clientHello() throws Exception {
        return clientHello("TLSv1.3", "TLSv1.2");
    }

    static byte[] clientHello(String... protocols) throws Exception {
        return ClientHellos.jdk(protocols);
    }
}
