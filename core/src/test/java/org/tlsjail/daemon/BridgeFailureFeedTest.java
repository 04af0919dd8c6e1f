package org.tlsjail.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.FailureOutcome;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.bridge.HostBanBridge;
import org.tlsjail.bridge.fail2ban.Fail2BanBridge;
import org.tlsjail.bridge.fail2ban.Fail2BanBridgeConfig;
import org.tlsjail.bridge.fail2ban.Fail2BanMode;
import org.tlsjail.listener.FailureKind;
import org.tlsjail.listener.HandshakeFailure;
import org.tlsjail.testing.Await;
import org.tlsjail.testing.RealFail2BanServer;
import org.tlsjail.testing.RealPeer;

/**
 * The feed into the Fail2Ban bridge in attempt mode, against a real fail2ban-server: Fail2Ban's
 * {@code attempt} command does not look at any ignoreip, so a failure tlsjail did not count (an
 * ignoreip partner's) must never be reported, or Fail2Ban bans the partner tlsjail protects.
 */
class BridgeFailureFeedTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private static HandshakeFailure failure(String address) {
        return new HandshakeFailure(new InetSocketAddress(address, 40000), FailureKind.NO_CERTIFICATE,
                FailureKind.NO_CERTIFICATE.code(), "peer did not return a certificate", null, Instant.now());
    }

    @Test
    void anIgnoredPartnersFailuresNeverReachFail2BanWhileCountedOnesGetTheSourceBanned() throws Exception {
        RealPeer.require(RealFail2BanServer.installed(), "fail2ban is not installed (Debian package fail2ban); CI installs it");
        try (RealFail2BanServer server = new RealFail2BanServer(dir)) {
            server.start();
            BanEngine engine = new BanEngine(JailConfig.defaults(), InstantSource.system());
            Fail2BanBridge bridge = new Fail2BanBridge(Fail2BanBridgeConfig.defaults().withSocket(server.socket())
                    .withMode(Fail2BanMode.ATTEMPT), engine::banned, engine::unban, InstantSource.system());
            try {
                bridge.startOn(engine);
                BridgeFailureFeed feed = new BridgeFailureFeed(() -> List.<HostBanBridge>of(bridge));
                for (int i = 0; i < 5; i++) {
                    feed.onFailure(failure("10.66.6.6"), FailureOutcome.IGNORED); // the partner, in tlsjail's ignoreip
                }
                for (int i = 0; i < 3; i++) {
                    feed.onFailure(failure("10.66.6.5"), FailureOutcome.COUNTED);
                }
                Await.until("Fail2Ban banned the counted source", WAIT, () -> server.bannedContains("10.66.6.5"),
                        () -> bridge.status().summary());
                assertThat(bridge.status().pending()).isZero();
                assertThat(server.banned()).doesNotContain("10.66.6.6");
            } finally {
                bridge.close();
            }
        }
    }
}
