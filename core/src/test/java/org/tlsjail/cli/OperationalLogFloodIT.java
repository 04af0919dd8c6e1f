package org.tlsjail.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Red-team finding (seen on main 6fccaf0, fixed by 8ac925b's quieting of Bouncy Castle's
 * java.util.logging; this test guards it): every handshake a client aborts with a reset after the server's
 * flight makes Bouncy Castle's JSSE log a WARNING with a 20-line stack trace through
 * java.util.logging, straight to the daemon's stderr (the journal under systemd), bypassing
 * logback and tlsjail's rate limit: about 2.3 KB per connection, 15 MB in one minute of a
 * stalled-ClientHello flood from fresh sources. The operational log must stay bounded whatever
 * clients do; the Fail2Ban log already has the one line per failure.
 */
class OperationalLogFloodIT {
    private static final int CONNECTIONS = 6;

    @TempDir
    Path work;

    @Test
    void clientsThatResetMidHandshakeDoNotFloodTheOperationalLog() throws Exception {
        Path cfg = work.resolve("tlsjail.yaml");
        Files.writeString(cfg, "state-dir: state\nlisten: {port: 0}\njail: {maxretry: 1000}\n");
        try (Dist.Daemon d = Dist.start(work, work.resolve("state"), "--config", cfg.toString())) {
            long before = Files.size(d.stderr);
            for (int i = 0; i < CONNECTIONS; i++) {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), d.port), 10_000);
                    s.setSoTimeout(30_000);
                    s.getOutputStream().write(org.tlsjail.testing.ClientHellos.jdk());
                    InputStream in = s.getInputStream();
                    assertThat(in.read()).as("the server's first byte (handshake record)").isEqualTo(22);
                    s.setSoLinger(true, 0); // then reset, as a scanner or an aborting client does
                }
            }
            Dist.awaitLogLines(d.stateDir.resolve("fail2ban.log"), CONNECTIONS);
            Thread.sleep(500); // (stderr is unbuffered; this only lets the last handshake thread finish)
            String added = Files.readString(d.stderr).substring((int) before);
            assertThat(added).as("stderr added by %d aborted handshakes:\n%s", CONNECTIONS, added)
                    .doesNotContain("\tat ").doesNotContain("notifyAlertRaised");
            assertThat(added.lines().count()).as("operational log lines for %d aborted handshakes", CONNECTIONS)
                    .isLessThanOrEqualTo(CONNECTIONS);
        }
    }
}
