package org.tlsjail.config;

import java.util.ArrayList;
import java.util.List;

/**
 * Settings that are valid but probably not what the operator wants: {@code tlsjail config check}
 * prints them (and still exits 0), the daemon logs them at start.
 */
public final class ConfigWarnings {
    private ConfigWarnings() {
    }

    public static List<String> of(TlsjailConfig c) {
        List<String> out = new ArrayList<>();
        if (c.listen().proxyProtocol().enabled()) {
            for (String b : List.of("nftables", "fail2ban")) {
                if (b.equals("nftables") ? c.bridge().nftables() != null : c.bridge().fail2ban() != null) {
                    out.add("bridge." + b + " is enabled while listen.proxy-protocol is "
                            + c.listen().proxyProtocol().version().yamlName() + ": behind a balancer this host only"
                            + " sees the balancer's connections, so its " + (b.equals("nftables") ? "firewall" : "Fail2Ban")
                            + " cannot block a banned client; use bridge.haproxy to ban at the balancer");
                }
            }
        }
        return out;
    }
}
