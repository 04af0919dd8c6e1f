package org.tlsjail.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression (SlowClientsTest failed now and then in a full verify): the listener reset a banned
 * source's connection before counting the refusal, so a client that saw the reset could still
 * find the old count in {@code stats()}.
 */
class RefusalCountTest {
    @TempDir
    Path dir;

    @Test
    void aRefusalIsCountedBeforeTheClientSeesTheReset() throws Exception {
        try (ListenerUnderTest tlsjail = new ListenerUnderTest(TestPki.create(dir), List.of())) {
            tlsjail.engine.ban(InetAddress.getByName("127.9.0.1"), Duration.ofMinutes(5), "test");
            for (int i = 1; i <= 100; i++) {
                try (Socket s = new Socket()) {
                    s.bind(new InetSocketAddress("127.9.0.1", 0));
                    s.connect(tlsjail.listener.localAddress());
                    s.setSoTimeout(10_000);
                    assertThat(s.getInputStream().read()).isNegative();
                } catch (SocketException reset) {
                    // the refusal
                }
                assertThat(tlsjail.listener.stats().refusedBanned()).as("refusals counted after reset " + i).isEqualTo(i);
            }
        }
    }
}
