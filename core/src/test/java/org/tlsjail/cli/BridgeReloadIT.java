package org.tlsjail.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.tlsjail.cli.Dist.tlsjail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.testing.FakeFail2BanServer;

/**
 * The daemon builds its bridges from the typed {@code bridge:} section, through the built
 * {@code bin/tlsjail}: a relative socket is resolved against the file's directory like every path
 * in it; a reload that leaves the section as it was leaves the running bridge alone; a broken
 * section is refused with its position and changes nothing; a changed one replaces the bridge.
 * The Fail2Ban server is the shared fake: what is counted is the bridge's opening {@code ping}.
 */
class BridgeReloadIT {
    @TempDir
    Path work;

    @Test
    void reloadReplacesTheBridgeOnlyWhenItsSectionChanges() throws Exception {
        Path etc = Files.createDirectories(work.resolve("etc"));
        Path cfg = etc.resolve("tlsjail.yaml");
        String head = "state-dir: state\nlisten: {port: 0}\n";
        String bridge = "bridge:\n  fail2ban:\n    enabled: true\n    socket: f2b.sock\n";
        Files.writeString(cfg, head + bridge);
        try (FakeFail2BanServer f2b = new FakeFail2BanServer(etc.resolve("f2b.sock"));
             Dist.Daemon d = Dist.start(work, etc.resolve("state"), "--config", cfg.toString())) {
            // the daemon runs in work/, the file is in work/etc/: only the file's directory holds the socket
            assertThat(status(cfg)).contains("bridge:          fail2ban jail os4x at " + etc.resolve("f2b.sock"));
            assertThat(pings(f2b)).isEqualTo(1);

            Files.writeString(cfg, head + "jail: {maxretry: 2}\n" + bridge);
            Dist.Result same = tlsjail(work, "reload", "--config", cfg.toString());
            assertThat(same.exit()).as(same.all()).isZero();
            assertThat(same.out()).contains("maxretry 2");
            assertThat(pings(f2b)).as("an unchanged section keeps its running bridge").isEqualTo(1);

            Files.writeString(cfg, head + bridge + "    jial: os4x\n");
            Dist.Result typo = tlsjail(work, "reload", "--config", cfg.toString());
            assertThat(typo.exit()).isEqualTo(2);
            assertThat(typo.err()).contains(cfg + ":7:5: bridge.fail2ban.jial: unknown key").hasLineCount(1);
            Files.writeString(cfg, head + "bridge:\n  nftables: {table: \"x; flush ruleset\"}\n" + bridge.substring(8));
            Dist.Result broken = tlsjail(work, "reload", "--config", cfg.toString());
            assertThat(broken.exit()).as("a section that is not enabled is checked all the same").isEqualTo(2);
            assertThat(broken.err()).contains(cfg + ":4:21: bridge.nftables.table: expected a name");
            assertThat(status(cfg)).contains("fail2ban jail os4x").contains("maxretry 2");
            assertThat(pings(f2b)).isEqualTo(1);

            Files.writeString(cfg, head + bridge + "    timeout: 2\n");
            Dist.Result changed = tlsjail(work, "reload", "--config", cfg.toString());
            assertThat(changed.exit()).as(changed.all()).isZero();
            assertThat(pings(f2b)).as("a changed section starts a new bridge").isEqualTo(2);
            assertThat(status(cfg)).containsOnlyOnce("bridge:");

            Files.writeString(cfg, head);
            assertThat(tlsjail(work, "reload", "--config", cfg.toString()).exit()).isZero();
            assertThat(status(cfg)).doesNotContain("bridge:");
        }
    }

    private String status(Path cfg) throws Exception {
        Dist.Result r = tlsjail(work, "status", "--config", cfg.toString());
        assertThat(r.exit()).as(r.all()).isZero();
        return r.out();
    }

    private static long pings(FakeFail2BanServer f2b) {
        return f2b.requests().stream().filter(r -> r.equals(List.of("ping"))).count();
    }
}
