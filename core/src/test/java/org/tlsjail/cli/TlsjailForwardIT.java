package org.tlsjail.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.tlsjail.cli.Dist.sClient;
import static org.tlsjail.cli.Dist.tlsjail;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Forward mode end to end: s_client -> tlsjail (bin/tlsjail run) -> a plain TCP echo backend. */
class TlsjailForwardIT {
    private static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    @TempDir
    Path work;

    /** What the backend saw of one connection: the PROXY v2 header fields (if any) and the first line. */
    record Seen(String proxySource, int proxySourcePort, String proxyDestination, int proxyDestinationPort, String line) {
    }

    /** Echo backend: optional PROXY v2 header, then one line echoed back, then close (a backend-side EOF). */
    static final class EchoBackend implements AutoCloseable {
        final ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
        final BlockingQueue<Seen> seen = new LinkedBlockingQueue<>();
        volatile boolean expectProxyV2;
        final Thread thread = new Thread(this::loop, "echo-backend");

        EchoBackend() throws IOException {
            thread.setDaemon(true);
            thread.start();
        }

        private void loop() {
            while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                    s.setSoTimeout(20_000);
                    DataInputStream in = new DataInputStream(s.getInputStream());
                    String src = null;
                    String dst = null;
                    int sport = -1;
                    int dport = -1;
                    if (expectProxyV2) {
                        byte[] head = new byte[16];
                        in.readFully(head);
                        if (!Arrays.equals(Arrays.copyOf(head, 12), V2_SIGNATURE) || head[12] != 0x21 || head[13] != 0x11) {
                            throw new IOException("not a PROXY v2 TCP4 header: " + Arrays.toString(head));
                        }
                        byte[] body = new byte[((head[14] & 0xff) << 8) | (head[15] & 0xff)];
                        in.readFully(body);
                        src = InetAddress.getByAddress(Arrays.copyOfRange(body, 0, 4)).getHostAddress();
                        dst = InetAddress.getByAddress(Arrays.copyOfRange(body, 4, 8)).getHostAddress();
                        sport = ((body[8] & 0xff) << 8) | (body[9] & 0xff);
                        dport = ((body[10] & 0xff) << 8) | (body[11] & 0xff);
                    }
                    StringBuilder line = new StringBuilder();
                    int c;
                    while ((c = in.read()) >= 0 && c != '\n') {
                        line.append((char) c);
                    }
                    OutputStream out = s.getOutputStream();
                    out.write(("echo: " + line + "\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    seen.add(new Seen(src, sport, dst, dport, line.toString()));
                } catch (IOException e) {
                    if (!server.isClosed()) {
                        seen.add(new Seen(null, -1, null, -1, "backend error: " + e.getMessage()));
                    }
                }
            }
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    @Test
    void relaysBothWaysWithoutAndWithProxyV2() throws Exception {
        Path state = work.resolve("state");
        try (EchoBackend backend = new EchoBackend()) {
            Path cfg = work.resolve("tlsjail.yaml");
            String base = "state-dir: state\nlisten: {port: 0}\nforward:\n  to: \"127.0.0.1:" + backend.port() + "\"\n";
            Files.writeString(cfg, base + "  proxy-protocol: none\n");
            try (Dist.Daemon d = Dist.start(work, state, "--config", cfg.toString())) {
                Path demo = state.resolve("demo-pki");
                Dist.Result r = sClient(work, d.port, "127.0.0.51", demo, true, "ping\n");
                assertThat(r.out()).as(r.all()).contains("echo: ping");
                Seen plain = backend.seen.poll(10, TimeUnit.SECONDS);
                assertThat(plain).isNotNull();
                assertThat(plain.line()).isEqualTo("ping");

                // Switch the running daemon to PROXY v2 by reload: the backend now learns the client's address.
                Files.writeString(cfg, base + "  proxy-protocol: v2\n");
                backend.expectProxyV2 = true;
                assertThat(tlsjail(work, "reload", "--config", cfg.toString()).exit()).isZero();
                Dist.Result r2 = sClient(work, d.port, "127.0.0.52", demo, true, "pong\n");
                assertThat(r2.out()).as(r2.all()).contains("echo: pong");
                Seen proxied = backend.seen.poll(10, TimeUnit.SECONDS);
                assertThat(proxied).isNotNull();
                assertThat(proxied.line()).isEqualTo("pong");
                assertThat(proxied.proxySource()).isEqualTo("127.0.0.52");
                assertThat(proxied.proxySourcePort()).isPositive();
                assertThat(proxied.proxyDestination()).isEqualTo("127.0.0.1");
                assertThat(proxied.proxyDestinationPort()).isEqualTo(d.port);
                assertThat(tlsjail(work, "status", "--config", cfg.toString()).out()).contains("proxy-protocol v2");
            }
        }
    }
}
