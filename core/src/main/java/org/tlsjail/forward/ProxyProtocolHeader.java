package org.tlsjail.forward;

import java.io.ByteArrayOutputStream;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import org.tlsjail.banengine.Addresses;

/**
 * HAProxy's PROXY protocol header (v1 text, v2 binary), sent to the backend before any client
 * byte so the backend logs and authorises the real client address, not tlsjail's.
 */
public final class ProxyProtocolHeader {
    static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    private ProxyProtocolHeader() {
    }

    /** {@code PROXY TCP4 src dst sport dport\r\n}; IPv4-mapped IPv6 addresses are sent as IPv4. */
    public static byte[] v1(InetSocketAddress client, InetSocketAddress local) {
        InetAddress src = canonical(client.getAddress());
        InetAddress dst = canonical(local.getAddress());
        if ((src instanceof Inet4Address) != (dst instanceof Inet4Address)) {
            dst = src instanceof Inet4Address ? ipv4Any() : ipv6Any();
        }
        String family = src instanceof Inet4Address ? "TCP4" : "TCP6";
        return ("PROXY " + family + " " + Addresses.format(src) + " " + Addresses.format(dst) + " "
                + client.getPort() + " " + local.getPort() + "\r\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** Version 2, command PROXY, STREAM over INET or INET6, no TLVs. */
    public static byte[] v2(InetSocketAddress client, InetSocketAddress local) {
        InetAddress src = canonical(client.getAddress());
        InetAddress dst = canonical(local.getAddress());
        if ((src instanceof Inet4Address) != (dst instanceof Inet4Address)) {
            dst = src instanceof Inet4Address ? ipv4Any() : ipv6Any();
        }
        boolean v4 = src instanceof Inet4Address;
        ByteArrayOutputStream out = new ByteArrayOutputStream(52);
        out.writeBytes(V2_SIGNATURE);
        out.write(0x21); // version 2, PROXY
        out.write(v4 ? 0x11 : 0x21); // AF_INET/AF_INET6, STREAM
        int len = v4 ? 12 : 36;
        out.write(len >>> 8);
        out.write(len & 0xff);
        out.writeBytes(src.getAddress());
        out.writeBytes(dst.getAddress());
        out.write(client.getPort() >>> 8);
        out.write(client.getPort() & 0xff);
        out.write(local.getPort() >>> 8);
        out.write(local.getPort() & 0xff);
        return out.toByteArray();
    }

    private static InetAddress canonical(InetAddress a) {
        byte[] b = a.getAddress();
        if (b.length == 16) {
            boolean mapped = b[10] == (byte) 0xff && b[11] == (byte) 0xff;
            for (int i = 0; i < 10 && mapped; i++) {
                mapped = b[i] == 0;
            }
            if (mapped) {
                try {
                    return InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
                } catch (UnknownHostException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return a;
    }

    private static InetAddress ipv4Any() {
        return Addresses.parseLiteral("0.0.0.0");
    }

    private static InetAddress ipv6Any() {
        return Addresses.parseLiteral("::");
    }
}
