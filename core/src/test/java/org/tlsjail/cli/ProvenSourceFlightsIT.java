package org.tlsjail.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Red-team finding (fixed): one successful handshake made its ban unit a partner, whose parallel
 * handshakes are capped by max-handshakes-per-source (8), not maxretry. With client-auth none (or
 * optional) such a success costs nothing: one s_client without a certificate, then 30 parallel
 * ClientHellos reset after the server's flight, gave 8 server flights and 8 Fail2Ban lines. Only a
 * verified client certificate proves a partner now.
 */
class ProvenSourceFlightsIT {
    private static final String SOURCE = "127.0.0.1";

    @TempDir
    Path work;

    @Test
    void oneFreeSuccessDoesNotLiftTheMaxretryCap() throws Exception {
        Path cfg = work.resolve("tlsjail.yaml");
        Files.writeString(cfg, "state-dir: state\nlisten: {port: 0}\ntls: {client-auth: none}\n");
        try (Dist.Daemon d = Dist.start(work, work.resolve("state"), "--config", cfg.toString())) {
            Dist.Result ok = Dist.sClient(work, d.port, SOURCE, d.stateDir.resolve("demo-pki"), false, null, "-ign_eof");
            assertThat(ok.out()).as("the free success").contains("Hello (no client certificate)");

            List<Socket> sockets = new ArrayList<>();
            byte[] hello = org.tlsjail.testing.ClientHellos.jdk();
            for (int i = 0; i < 30; i++) {
                Socket s = new Socket();
                try {
                    s.bind(new InetSocketAddress(InetAddress.getByName(SOURCE), 0));
                    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), d.port), 10_000);
                    sockets.add(s);
                } catch (IOException refused) {
                    s.close();
                }
            }
            for (Socket s : sockets) {
                try {
                    s.getOutputStream().write(hello);
                } catch (IOException reset) {
                    // refused at the door
                }
            }
            AtomicInteger flights = new AtomicInteger();
            for (Socket s : sockets) {
                try {
                    s.setSoTimeout(15_000);
                    if (s.getInputStream().read() == 22) {
                        flights.incrementAndGet();
                    }
                    s.setSoLinger(true, 0);
                } catch (SocketTimeoutException | java.net.SocketException ignored) {
                    // reset or never served
                } finally {
                    s.close();
                }
            }
            List<String> lines = Dist.awaitLogLines(d.stateDir.resolve("fail2ban.log"), 3);
            Thread.sleep(1000); // lines beyond the third, if any, are what this test is looking for
            lines = Files.readAllLines(d.stateDir.resolve("fail2ban.log"));
            assertThat(flights.get()).as("server flights to one source after a free success").isLessThanOrEqualTo(3);
            assertThat(lines).as("Fail2Ban lines").hasSizeLessThanOrEqualTo(3);
        }
    }
}
