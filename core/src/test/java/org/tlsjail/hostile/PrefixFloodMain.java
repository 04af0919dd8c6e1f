package org.tlsjail.hostile;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.testing.NetworkNamespace;

/**
 * Run inside a network namespace by {@link Ipv6PrefixMaxRetryTest}: a tlsjail listener on
 * {@code [::]} and the parallel attacker from many addresses of one IPv6 /64 routed to the
 * namespace's loopback. Prints one {@code RESULT} line for the test to judge.
 *
 * <p>Arguments: work directory, the /64 as {@code 2001:db8:x:y}, addresses, connections per
 * address, s_client protocol option.
 */
public final class PrefixFloodMain {
    private PrefixFloodMain() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        String prefix = args[1];
        int addresses = Integer.parseInt(args[2]);
        int perSource = Integer.parseInt(args[3]);
        byte[] hello = ClientHellos.capture(args[4]);
        List<InetAddress> sources = new ArrayList<>();
        for (int i = 0; i < addresses; i++) {
            sources.add(NetworkNamespace.address(prefix, i)); // far apart, as an attacker picks them
        }
        InetSocketAddress any = new InetSocketAddress(InetAddress.getByName("::"), 0);
        try (HostileServer s = new HostileServer(dir, JailConfig.builder().maxRetry(3).ipv6Prefix(64).build(), b -> b
                .bind(any)
                .handshakeTimeout(Duration.ofSeconds(5)).maxHandshakesPerSource(addresses * perSource)
                .maxHandshakesTotal(Math.max(4096, addresses * perSource * 2)))) {
            InetSocketAddress target = new InetSocketAddress(InetAddress.getByName(prefix + "::1"), s.address().getPort());
            ParallelHellos.Result r = ParallelHellos.run(target, sources, perSource, hello, 15_000);
            s.log.flush(Duration.ofSeconds(10));
            long lines = s.logLines();
            boolean banned = s.engine.isBanned(sources.get(0)) && s.engine.isBanned(InetAddress.getByName(prefix + "::abcd"));
            System.out.println("RESULT flights=" + r.flights() + " lines=" + lines + " banned=" + banned
                    + " connections=" + r.connections() + " stats=" + s.listener.stats());
        }
        System.exit(0);
    }
}
