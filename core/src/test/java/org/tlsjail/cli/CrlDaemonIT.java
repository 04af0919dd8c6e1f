package org.tlsjail.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.tlsjail.cli.Dist.tlsjail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.fail2banlog.Fail2BanRegex;
import org.tlsjail.testing.RealPeer;
import org.tlsjail.tls.OpenSslCa;

/**
 * CRLs through the built bin/tlsjail with an operator's {@code openssl ca}: a revoked partner is
 * refused once the CA's next CRL is in place (found by the daemon itself, no reload), `tlsjail
 * reload` takes a CRL at once, a forged CRL makes the reload fail and changes nothing, and the
 * lines are matched by the real fail2ban-regex with OS4X's filter.
 */
class CrlDaemonIT {
    @TempDir
    Path work;

    private Dist.Result connect(int port, String source, OpenSslCa root, OpenSslCa.Issued leaf) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-bind", source + ":0", "-CAfile", root.certificate().toString(), "-cert", leaf.cert().toString(),
                "-key", leaf.key().toString(), "-ign_eof"));
        return Dist.exec(work, null, cmd);
    }

    @Test
    void revokedPartnersAreRefusedAfterTheCrlChangesWithAndWithoutReload() throws Exception {
        RealPeer.require(OpenSslCa.installed("openssl"), "openssl is not installed (Debian package openssl)");
        RealPeer.require(OpenSslCa.installed("fail2ban-regex"), "fail2ban-regex is not installed (Debian package fail2ban)");
        OpenSslCa root = OpenSslCa.root(work, "IT Root");
        OpenSslCa.Issued server = root.server("localhost", "rsa:2048");
        OpenSslCa.Issued watched = root.client("watched partner", "rsa:2048", "sha256");
        OpenSslCa.Issued reloaded = root.client("reloaded partner", "rsa:2048", "sha256");
        OpenSslCa.Issued good = root.client("good partner", "rsa:2048", "sha256");
        Path crl = work.resolve("root.crl");
        root.crl(crl, 7);
        Path state = work.resolve("state");
        Path cfg = work.resolve("tlsjail.yaml");
        String base = "state-dir: state\nlisten: {port: 0}\ntls:\n  key: " + server.key() + "\n  cert: " + server.cert()
                + "\n  client-ca: " + root.certificate() + "\n  crl: " + crl + "\n";
        Files.writeString(cfg, base + "  crl-check-interval: 1s\n");
        try (Dist.Daemon d = Dist.start(work, state, "--config", cfg.toString())) {
            assertThat(connect(d.port, "127.0.6.1", root, watched).out()).contains("Hello CN=watched partner");

            // the CA publishes its next CRL: written aside, renamed into place; no reload
            root.revoke(watched.cert());
            Path next = work.resolve("root.crl.new");
            root.crl(next, 7);
            Files.move(next, crl, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            Path log = state.resolve("fail2ban.log");
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (System.nanoTime() < deadline && connect(d.port, "127.0.6.2", root, watched).out().contains("Hello")) {
                Thread.sleep(300);
            }
            assertThat(Dist.awaitLogLines(log, 1)).singleElement().asString().startsWith(
                    "TLS error 167772294 during connect try from 127.0.6.2 (watched_partner): certificate verify failed (certificate revoked)");

            // an hourly look: only the reload brings the next CRL
            Files.writeString(cfg, base + "  crl-check-interval: 1h\n");
            assertThat(tlsjail(work, "reload", "--config", cfg.toString()).exit()).isZero();
            root.revoke(reloaded.cert());
            root.crl(crl, 7);
            assertThat(connect(d.port, "127.0.6.3", root, reloaded).out()).contains("Hello CN=reloaded partner");
            Dist.Result reload = tlsjail(work, "reload", "--config", cfg.toString());
            assertThat(reload.exit()).as(reload.all()).isZero();
            assertThat(connect(d.port, "127.0.6.4", root, reloaded).out()).doesNotContain("Hello");
            assertThat(Dist.awaitLogLines(log, 2)).element(1).asString().startsWith(
                    "TLS error 167772294 during connect try from 127.0.6.4 (reloaded_partner): certificate verify failed (certificate revoked)");

            // a CRL in the root's name by another key: the reload is refused, the old CRL stays
            OpenSslCa.root(work.resolve("impostor"), "IT Root").crl(crl, 7);
            Dist.Result forged = tlsjail(work, "reload", "--config", cfg.toString());
            assertThat(forged.exit()).as(forged.all()).isNotZero();
            assertThat(forged.all()).contains(crl.toString()).contains("signature does not verify");
            assertThat(connect(d.port, "127.0.6.5", root, good).out()).contains("Hello CN=good partner");
            assertThat(connect(d.port, "127.0.6.6", root, reloaded).out()).doesNotContain("Hello");

            List<String> lines = Dist.awaitLogLines(log, 3);
            assertThat(lines).hasSize(3);
            Fail2BanRegex.Result r = Fail2BanRegex.run(log);
            assertThat(r.missed()).as(r.output()).isZero();
            assertThat(r.matches()).extracting(Fail2BanRegex.Match::address)
                    .containsExactly("127.0.6.2", "127.0.6.4", "127.0.6.6");
        }
    }
}
