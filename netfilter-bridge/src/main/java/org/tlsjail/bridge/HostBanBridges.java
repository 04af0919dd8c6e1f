package org.tlsjail.bridge;

import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.bridge.fail2ban.Fail2BanBridge;
import org.tlsjail.bridge.haproxy.HaproxyBridge;
import org.tlsjail.bridge.nftables.NftablesBridge;

/**
 * Builds the bridges a {@link BridgeConfig} enables, so the daemon needs a few lines: create,
 * {@link HostBanBridge#startOn(BanEngine)} each, report {@code status()}, close at stop. Reading
 * and checking the YAML is the configuration loader's job; this only wires the checked records.
 */
public final class HostBanBridges {
    private HostBanBridges() {
    }

    /** The bridges {@code config} enables, created (nothing opened, no thread) but not started. */
    public static List<HostBanBridge> create(BridgeConfig config, BanEngine engine, InstantSource clock) {
        List<HostBanBridge> out = new ArrayList<>();
        if (config.fail2ban() != null) {
            out.add(new Fail2BanBridge(config.fail2ban(), engine::banned, engine::unban, clock));
        }
        if (config.nftables() != null) {
            out.add(new NftablesBridge(config.nftables(), engine::banned, clock));
        }
        if (config.haproxy() != null) {
            out.add(new HaproxyBridge(config.haproxy(), engine::banned, clock));
        }
        return out;
    }
}
