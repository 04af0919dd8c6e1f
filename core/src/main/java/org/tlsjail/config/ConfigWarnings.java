package org.tlsjail.config;

import java.util.ArrayList;
import java.util.List;
import org.tlsjail.banengine.SourceKey;

/**
 * Settings that are valid but probably not what the operator wants: {@code tlsjail config check}
 * prints them (and still exits 0), the daemon logs them at start.
 */
public final class ConfigWarnings {
    /** Balancers live in a few addresses; a block wider than these is almost surely a mistake. */
    private static final int WIDEST_IPV4_BALANCERS = 16;
    private static final int WIDEST_IPV6_BALANCERS = 48;

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
        for (SourceKey k : c.listen().proxyProtocol().trustedProxies()) {
            int bits = k.isIpv4() ? k.prefixLength() - 96 : k.prefixLength();
            if (bits < (k.isIpv4() ? WIDEST_IPV4_BALANCERS : WIDEST_IPV6_BALANCERS)) {
                out.add("listen.trusted-proxies: " + k + " trusts " + (bits == 0 ? "every " + (k.isIpv4() ? "IPv4" : "IPv6")
                        + " peer" : "a whole /" + bits) + ": any host in it can name any client address in a PROXY"
                        + " header (and get it banned, or pass as a partner); name only your balancers");
            }
        }
        return out;
    }
}
