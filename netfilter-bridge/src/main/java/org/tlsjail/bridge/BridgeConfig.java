package org.tlsjail.bridge;

import org.tlsjail.bridge.fail2ban.Fail2BanBridgeConfig;
import org.tlsjail.bridge.haproxy.HaproxyBridgeConfig;
import org.tlsjail.bridge.nftables.NftablesBridgeConfig;

/**
 * The {@code bridge:} section: the settings of each bridge it enables. Every component is already
 * checked (its record's constructor), so holding a BridgeConfig means the section is valid; nothing
 * is created or started until {@link HostBanBridges#create} is called.
 *
 * @param fail2ban {@code bridge.fail2ban}, or null when that section is absent or not enabled
 * @param nftables {@code bridge.nftables}, or null likewise
 * @param haproxy  {@code bridge.haproxy}, or null likewise
 */
public record BridgeConfig(Fail2BanBridgeConfig fail2ban, NftablesBridgeConfig nftables, HaproxyBridgeConfig haproxy) {
    /** No bridge: no {@code bridge:} section, or none of its bridges enabled. */
    public static final BridgeConfig NONE = new BridgeConfig(null, null, null);

    public boolean isEmpty() {
        return fail2ban == null && nftables == null && haproxy == null;
    }
}
