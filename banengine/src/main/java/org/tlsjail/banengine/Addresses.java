package org.tlsjail.banengine;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Address parsing and printing without DNS.
 *
 * <p>{@link InetAddress#getByName} resolves anything that is not a literal, which a ban command
 * or a config file must never trigger, so literals are checked here first. Printing follows RFC
 * 5952 (lowercase, longest zero run as {@code ::}) and shows IPv4-mapped IPv6 as plain IPv4,
 * which is what Fail2Ban's {@code <HOST>} extracts anyway.
 */
public final class Addresses {
    private Addresses() {
    }

    private static boolean isAsciiHex(int c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    /** Parses an IPv4 dotted quad or an IPv6 literal (optionally in brackets); never resolves names. */
    public static InetAddress parseLiteral(String text) {
        String s = text.strip();
        if (s.startsWith("[") && s.endsWith("]")) {
            s = s.substring(1, s.length() - 1);
        }
        try {
            if (s.indexOf(':') >= 0) {
                // ASCII only (Character.digit takes full-width and other scripts' digits), and a
                // first character that sends getByName down its literal path: anything else (".::1")
                // it hands to the resolver, which answers from DNS or /etc/hosts
                if (s.isEmpty() || !(isAsciiHex(s.charAt(0)) || s.charAt(0) == ':')
                        || !s.chars().allMatch(c -> isAsciiHex(c) || c == ':' || c == '.')) {
                    throw new IllegalArgumentException("not an IP address: '" + text + "'");
                }
                return InetAddress.getByName(s);
            }
            String[] parts = s.split("\\.", -1);
            if (parts.length != 4) {
                throw new IllegalArgumentException("not an IP address: '" + text + "'");
            }
            byte[] b = new byte[4];
            for (int i = 0; i < 4; i++) {
                if (parts[i].isEmpty() || parts[i].length() > 3 || !parts[i].chars().allMatch(c -> c >= '0' && c <= '9')) {
                    throw new IllegalArgumentException("not an IP address: '" + text + "'");
                }
                int v = Integer.parseInt(parts[i]);
                if (v > 255) {
                    throw new IllegalArgumentException("not an IP address: '" + text + "'");
                }
                b[i] = (byte) v;
            }
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP address: '" + text + "'", e);
        }
    }

    static int parsePrefix(String text, int max, String whole) {
        if (text.isEmpty() || text.length() > 3 || !text.chars().allMatch(Character::isDigit)) {
            throw new IllegalArgumentException("bad prefix length in '" + whole + "'");
        }
        int p = Integer.parseInt(text);
        if (p > max) {
            throw new IllegalArgumentException("prefix length /" + p + " is longer than " + max + " in '" + whole + "'");
        }
        return p;
    }

    /** True for IPv4 addresses and IPv4-mapped IPv6 addresses. */
    public static boolean isIpv4(InetAddress address) {
        return address instanceof Inet4Address || isIpv4Mapped(address.getAddress());
    }

    /** The address as Fail2Ban should see it: IPv4 dotted, IPv6 per RFC 5952, mapped IPv6 as IPv4. */
    public static String format(InetAddress address) {
        byte[] b = address.getAddress();
        if (b.length == 4 || isIpv4Mapped(b)) {
            return formatIpv4(ipv4Bits(b));
        }
        return formatIpv6(hi(b), lo(b));
    }

    static boolean isIpv4Mapped(byte[] b) {
        if (b.length != 16) {
            return false;
        }
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return b[10] == (byte) 0xFF && b[11] == (byte) 0xFF;
    }

    static int ipv4Bits(byte[] b) {
        int o = b.length - 4;
        return (b[o] & 0xFF) << 24 | (b[o + 1] & 0xFF) << 16 | (b[o + 2] & 0xFF) << 8 | (b[o + 3] & 0xFF);
    }

    static long hi(byte[] b) {
        return bytesToLong(b, 0);
    }

    static long lo(byte[] b) {
        return bytesToLong(b, 8);
    }

    private static long bytesToLong(byte[] b, int off) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = v << 8 | (b[off + i] & 0xFF);
        }
        return v;
    }

    static String formatIpv4(int v4) {
        return (v4 >>> 24) + "." + (v4 >>> 16 & 0xFF) + "." + (v4 >>> 8 & 0xFF) + "." + (v4 & 0xFF);
    }

    static String formatIpv6(long hi, long lo) {
        int[] g = new int[8];
        for (int i = 0; i < 4; i++) {
            g[i] = (int) (hi >>> (48 - 16 * i)) & 0xFFFF;
            g[i + 4] = (int) (lo >>> (48 - 16 * i)) & 0xFFFF;
        }
        // RFC 5952 4.2: compress the longest run of two or more zero groups, the first on a tie.
        int bestStart = -1;
        int bestLen = 1;
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder(39);
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(g[i]));
        }
        return sb.toString();
    }
}
