package org.tlsjail.daemon;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.tlsjail.banengine.Addresses;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.BanRecord;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.banengine.SourceKey;

/**
 * {@code tlsjail ban} and {@code unban} on addresses and CIDR blocks, idempotently as a Fail2Ban
 * action needs them: banning a banned source leaves its ban as it is, unbanning an unbanned one
 * reports it and succeeds (like {@code fail2ban-client set JAIL unbanip} without
 * {@code --report-absent}).
 *
 * <p>The engine bans whole sources of the jail's prefix ({@code jail.ipv4-prefix},
 * {@code jail.ipv6-prefix}). A block wider than that is banned as every source in it (at most
 * {@link #MAX_SOURCES_PER_BLOCK}); a block narrower than a source bans the source that holds it,
 * exactly as banning one of its addresses would.
 */
final class ManualBans {
    /** 10.0.0.0/20 at ipv4-prefix 32; each source is one journal record and one bridge change. */
    static final int MAX_SOURCES_PER_BLOCK = 4096;

    private final BanEngine engine;

    ManualBans(BanEngine engine) {
        this.engine = engine;
    }

    /** One address or block as given, parsed; throws IllegalArgumentException naming it. */
    record Target(String text, SourceKey block) {
        static Target parse(String text) {
            try {
                return new Target(text, SourceKey.parse(text));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("'" + DaemonCommands.YamlSafe.of(text)
                        + "' is not an IP address or CIDR block (e.g. 192.0.2.7, 10.0.0.0/24, 2001:db8::/64)");
            }
        }
    }

    /** Validates every target before anything is banned: a typo in the third bans nothing. */
    List<Target> parse(List<String> texts) {
        if (texts.isEmpty()) {
            throw new IllegalArgumentException("give at least one address or CIDR block");
        }
        JailConfig jail = engine.config();
        List<Target> targets = new ArrayList<>();
        for (String t : texts) {
            Target target = Target.parse(t);
            long n = sourcesIn(target.block(), jail);
            if (n > MAX_SOURCES_PER_BLOCK) {
                throw new IllegalArgumentException(target.block() + " holds " + n + " sources at jail."
                        + (target.block().isIpv4() ? "ipv4-prefix " + jail.ipv4Prefix() : "ipv6-prefix " + jail.ipv6Prefix())
                        + "; at most " + MAX_SOURCES_PER_BLOCK + " per block (ban smaller blocks, or block the"
                        + " range in the firewall)");
            }
            targets.add(target);
        }
        return targets;
    }

    /** Bans each target; a null duration is the jail's bantime. One line per target. */
    String ban(List<Target> targets, Duration duration) {
        StringBuilder out = new StringBuilder();
        for (Target t : targets) {
            int banned = 0;
            int already = 0;
            int ignored = 0;
            BanRecord last = null;
            for (InetAddress a : sources(t.block(), engine.config())) {
                if (engine.isIgnored(a)) {
                    ignored++;
                    continue;
                }
                BanRecord current = engine.banOf(a);
                if (current != null) {
                    already++;
                    last = current;
                    continue;
                }
                last = engine.ban(a, duration, "manual");
                banned++;
            }
            out.append(line(t, banned, already, ignored, last)).append('\n');
        }
        return out.toString();
    }

    private static String line(Target t, int banned, int already, int ignored, BanRecord last) {
        String end = last == null ? "" : last.isPermanent() ? " permanently" : " until " + last.until();
        if (banned + already == 1 && ignored == 0) {
            return (banned == 1 ? "banned " : "already banned: ") + last.key() + end;
        }
        if (banned + already == 0) {
            return t.block() + ": every source in it is in jail.ignoreip; nothing banned";
        }
        return t.block() + ": banned " + banned + " source(s)" + end
                + (already > 0 ? ", " + already + " already banned" : "")
                + (ignored > 0 ? ", " + ignored + " in jail.ignoreip skipped" : "");
    }

    /** Result of an unban: one line per target, and the targets that were not banned. */
    record UnbanResult(String text, List<String> absent) {
    }

    /**
     * Lifts the ban of each target: an address lifts the ban of the source holding it; a block
     * lifts every ban inside it and the ban of a wider source holding it.
     */
    UnbanResult unban(List<Target> targets) {
        StringBuilder out = new StringBuilder();
        List<String> absent = new ArrayList<>();
        for (Target t : targets) {
            int n = 0;
            if (t.text().indexOf('/') < 0) {
                if (engine.unban(Addresses.parseLiteral(t.text()))) {
                    n = 1;
                }
            } else {
                for (BanRecord r : engine.banned()) {
                    if (overlaps(r.key(), t.block()) && engine.unban(r.key())) {
                        n++;
                    }
                }
            }
            if (n == 0) {
                absent.add(t.text());
                out.append(DaemonCommands.YamlSafe.of(t.text())).append(" was not banned\n");
            } else {
                out.append("unbanned ").append(t.text().indexOf('/') < 0 ? DaemonCommands.YamlSafe.of(t.text())
                        : t.block() + " (" + n + " source(s))").append('\n');
            }
        }
        return new UnbanResult(out.toString(), absent);
    }

    /** True if one prefix contains the other. */
    static boolean overlaps(SourceKey a, SourceKey b) {
        int p = Math.min(a.prefixLength(), b.prefixLength());
        return mask(a, p).equals(mask(b, p));
    }

    private static BigInteger mask(SourceKey k, int prefix) {
        BigInteger v = value(k);
        return prefix == 0 ? BigInteger.ZERO : v.shiftRight(128 - prefix);
    }

    private static BigInteger value(SourceKey k) {
        return new BigInteger(1, toBytes(k.hi(), k.lo()));
    }

    /** How many sources of the jail's prefix the block covers (1 if it lies inside one). */
    static long sourcesIn(SourceKey block, JailConfig jail) {
        int sourcePrefix = block.isIpv4() ? 96 + jail.ipv4Prefix() : jail.ipv6Prefix();
        int bits = sourcePrefix - block.prefixLength();
        return bits <= 0 ? 1 : bits >= 62 ? Long.MAX_VALUE : 1L << bits;
    }

    /** One address of each source of the jail's prefix in the block. */
    static List<InetAddress> sources(SourceKey block, JailConfig jail) {
        int sourcePrefix = block.isIpv4() ? 96 + jail.ipv4Prefix() : jail.ipv6Prefix();
        long n = sourcesIn(block, jail);
        BigInteger base = value(block);
        BigInteger step = BigInteger.ONE.shiftLeft(128 - Math.max(sourcePrefix, block.prefixLength()));
        List<InetAddress> out = new ArrayList<>((int) n);
        for (long i = 0; i < n; i++) {
            byte[] b = toBytes(base.add(step.multiply(BigInteger.valueOf(i))));
            try {
                // IPv4 keys are held IPv4-mapped; hand the engine a plain IPv4 address for them
                out.add(block.isIpv4() ? InetAddress.getByAddress(java.util.Arrays.copyOfRange(b, 12, 16))
                        : InetAddress.getByAddress(b));
            } catch (UnknownHostException e) {
                throw new IllegalStateException(e); // 4 or 16 bytes: cannot happen
            }
        }
        return out;
    }

    private static byte[] toBytes(long hi, long lo) {
        byte[] b = new byte[16];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (hi >>> (56 - 8 * i));
            b[8 + i] = (byte) (lo >>> (56 - 8 * i));
        }
        return b;
    }

    private static byte[] toBytes(BigInteger v) {
        byte[] raw = v.toByteArray();
        byte[] b = new byte[16];
        int n = Math.min(16, raw.length);
        System.arraycopy(raw, raw.length - n, b, 16 - n, n);
        return b;
    }
}
