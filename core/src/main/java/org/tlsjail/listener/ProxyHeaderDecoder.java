package org.tlsjail.listener;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;
import org.tlsjail.banengine.Addresses;

/**
 * Reads one PROXY protocol header (HAProxy's {@code doc/proxy-protocol.txt}, v1 text or v2
 * binary) from a non-blocking connection, without ever reading a byte past it.
 *
 * <p>The caller reads into {@link #buffer()}, whose {@code remaining()} is at most what can still
 * belong to the header, and then calls {@link #advance()}. So the ClientHello that follows stays
 * in the socket for TLS, even when the balancer sent both in one segment. A v1 line's end is not
 * known in advance: after the shortest possible line for its protocol, it is read two bytes at a
 * time (one after a CR), at most {@link #V1_MAX} bytes. A v2 header's length is read first and
 * capped at {@link #V2_MAX_LENGTH}.
 *
 * <p>Everything here comes from the network: a malformed header is a {@link State#FAILED} with a
 * short printable reason, never an exception; no name is ever resolved.
 */
final class ProxyHeaderDecoder {
    /** v1: at most 107 bytes including CRLF (the specification's limit). */
    static final int V1_MAX = 107;
    /** v2: the fixed part (signature, version/command, family, length). */
    static final int V2_FIXED = 16;
    /** v2: the largest address block plus TLVs accepted; HAProxy's own TLVs fit well below it. */
    static final int V2_MAX_LENGTH = 2048;
    static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    private static final byte[] V1_SIGNATURE = "PROXY ".getBytes(StandardCharsets.US_ASCII);
    /** No header is shorter: v1 {@code "PROXY UNKNOWN\r\n"} is 15 bytes, v2 at least 16. */
    private static final int SHORTEST = 15;
    private static final int TLV_CRC32C = 0x03;

    enum State { NEED_MORE, DONE, FAILED }

    private final ProxyProtocolSettings.Version accepted;
    private ByteBuffer buf;
    private State state = State.NEED_MORE;
    private ProxyHeader header;
    private String failure;

    ProxyHeaderDecoder(ProxyProtocolSettings.Version accepted) {
        if (accepted == ProxyProtocolSettings.Version.NONE) {
            throw new IllegalArgumentException("no PROXY header version accepted");
        }
        this.accepted = accepted;
        buf = ByteBuffer.allocate(V1_MAX);
        buf.limit(accepted.acceptsV1() ? SHORTEST : V2_FIXED);
    }

    /**
     * Where the next read goes: its {@code remaining()} never reaches past the header. Only
     * meaningful while the state is {@link State#NEED_MORE}.
     */
    ByteBuffer buffer() {
        return buf;
    }

    /** Bytes of the connection consumed so far (all of them header bytes). */
    int consumed() {
        return buf.position();
    }

    /** Looks at what has been read so far; call after every read into {@link #buffer()}. */
    State advance() {
        if (state != State.NEED_MORE) {
            return state;
        }
        int n = buf.position();
        byte[] b = buf.array();
        boolean v1 = accepted.acceptsV1() && startsWith(b, n, V1_SIGNATURE);
        boolean v2 = accepted.acceptsV2() && startsWith(b, n, V2_SIGNATURE);
        if (!v1 && !v2) {
            return fail(n == 0 ? "empty" : "not a PROXY protocol " + accepted.yamlName() + " header");
        }
        if (v1 && n >= V1_SIGNATURE.length) {
            return advanceV1(b, n);
        }
        if (v2 && n >= V2_FIXED) {
            return advanceV2(b, n);
        }
        if (v2 && n < V2_FIXED) {
            buf.limit(V2_FIXED); // v2's fixed part is one byte longer than the shortest v1 line
        }
        return state;
    }

    ProxyHeader header() {
        return header;
    }

    /** Why the header was refused (printable ASCII, short), or null. */
    String failure() {
        return failure;
    }

    // ---------------------------------------------------------------- v1

    private State advanceV1(byte[] b, int n) {
        for (int i = 0; i < n; i++) {
            int c = b[i] & 0xFF;
            if (c == '\n') {
                if (i == 0 || b[i - 1] != '\r' || i != n - 1) {
                    return fail("v1 line break without CR");
                }
                return parseV1(new String(b, 0, n - 2, StandardCharsets.US_ASCII));
            }
            if (c == '\r' ? i != n - 1 && b[i + 1] != '\n' : c < 0x20 || c > 0x7e) {
                return fail("v1 header has a byte that is not printable ASCII");
            }
        }
        if (n >= V1_MAX) {
            return fail("v1 header longer than " + V1_MAX + " bytes");
        }
        int shortest = n >= 11 && startsWith(b, n, "PROXY TCP4 ") ? 32 // "PROXY TCP4 1.1.1.1 1.1.1.1 1 1\r\n"
                : n >= 11 && startsWith(b, n, "PROXY TCP6 ") ? 22 // "PROXY TCP6 :: :: 1 1\r\n"
                : SHORTEST;
        int want = Math.max(shortest - n, b[n - 1] == '\r' ? 1 : 2);
        buf.limit(Math.min(V1_MAX, n + want));
        return state;
    }

    private State parseV1(String line) {
        String[] f = line.split(" ", -1);
        if (f.length >= 2 && f[1].equals("UNKNOWN")) {
            // the specification: the receiver must ignore anything after UNKNOWN and use the real endpoints
            return done(ProxyHeader.LOCAL);
        }
        if (f.length != 6 || !(f[1].equals("TCP4") || f[1].equals("TCP6"))) {
            return fail("v1 header is not PROXY TCP4|TCP6|UNKNOWN src dst sport dport");
        }
        boolean v4 = f[1].equals("TCP4");
        InetAddress src = v1Address(f[2], v4);
        InetAddress dst = v1Address(f[3], v4);
        int sport = v1Port(f[4]);
        int dport = v1Port(f[5]);
        if (src == null || dst == null) {
            return fail("v1 header has an address that is not " + (v4 ? "IPv4" : "IPv6"));
        }
        if (sport < 0 || dport < 0) {
            return fail("v1 header has a port that is not 0-65535");
        }
        return done(new ProxyHeader(new InetSocketAddress(src, sport), new InetSocketAddress(dst, dport)));
    }

    private static InetAddress v1Address(String s, boolean v4) {
        if (s.isEmpty() || s.length() > 45 || s.indexOf('[') >= 0 || (s.indexOf(':') >= 0) == v4) {
            return null;
        }
        try {
            InetAddress a = Addresses.parseLiteral(s); // literals only: never a name lookup
            return !v4 || a instanceof Inet4Address ? a : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static int v1Port(String s) {
        if (!s.matches("0|[1-9][0-9]{0,4}")) {
            return -1;
        }
        int p = Integer.parseInt(s);
        return p > 65535 ? -1 : p;
    }

    // ---------------------------------------------------------------- v2

    private State advanceV2(byte[] b, int n) {
        int verCmd = b[12] & 0xFF;
        if ((verCmd >>> 4) != 2) {
            return fail("v2 header has version " + (verCmd >>> 4));
        }
        int command = verCmd & 0x0F;
        if (command > 1) {
            return fail("v2 header has command " + command);
        }
        int length = ((b[14] & 0xFF) << 8) | (b[15] & 0xFF);
        if (length > V2_MAX_LENGTH) {
            return fail("v2 header length " + length + " exceeds " + V2_MAX_LENGTH);
        }
        int total = V2_FIXED + length;
        if (n < total) {
            if (buf.capacity() < total) {
                ByteBuffer bigger = ByteBuffer.allocate(total);
                bigger.put(b, 0, n);
                buf = bigger;
            }
            buf.limit(total);
            return state;
        }
        b = buf.array();
        if (command == 0) {
            // LOCAL (a health check, the proxy's own connection): the block is discarded unread
            return done(ProxyHeader.LOCAL);
        }
        int family = (b[13] & 0xFF) >>> 4;
        int transport = b[13] & 0x0F;
        int addressBytes;
        switch (family) {
            case 0 -> addressBytes = 0; // UNSPEC: the real endpoints apply
            case 1 -> addressBytes = 12;
            case 2 -> addressBytes = 36;
            case 3 -> addressBytes = 216; // UNIX: no IP address to take
            default -> {
                return fail("v2 header has address family " + family);
            }
        }
        if (family != 0 && transport != 1) {
            return fail("v2 header is not for a stream (TCP) connection");
        }
        if (length < addressBytes) {
            return fail("v2 header length " + length + " is too short for its address family");
        }
        String tlvProblem = checkTlvs(b, V2_FIXED + addressBytes, total);
        if (tlvProblem != null) {
            return fail(tlvProblem);
        }
        if (family == 0 || family == 3) {
            return done(ProxyHeader.LOCAL);
        }
        int alen = family == 1 ? 4 : 16;
        int at = V2_FIXED;
        InetAddress src = address(b, at, alen);
        InetAddress dst = address(b, at + alen, alen);
        int sport = ((b[at + 2 * alen] & 0xFF) << 8) | (b[at + 2 * alen + 1] & 0xFF);
        int dport = ((b[at + 2 * alen + 2] & 0xFF) << 8) | (b[at + 2 * alen + 3] & 0xFF);
        return done(new ProxyHeader(new InetSocketAddress(src, sport), new InetSocketAddress(dst, dport)));
    }

    /**
     * TLVs are skipped, but only when they tile the rest of the header exactly: a TLV claiming
     * more bytes than the header has is a malformed header. A CRC32C TLV is checked.
     */
    private static String checkTlvs(byte[] b, int from, int end) {
        int i = from;
        while (i < end) {
            if (end - i < 3) {
                return "v2 header ends inside a TLV";
            }
            int type = b[i] & 0xFF;
            int len = ((b[i + 1] & 0xFF) << 8) | (b[i + 2] & 0xFF);
            if (len > end - i - 3) {
                return "v2 TLV 0x" + Integer.toHexString(type) + " is longer than the header";
            }
            if (type == TLV_CRC32C) {
                if (len != 4) {
                    return "v2 CRC32C TLV has length " + len;
                }
                if (!crcMatches(b, end, i + 3)) {
                    return "v2 header fails its CRC32C check";
                }
            }
            i += 3 + len;
        }
        return null;
    }

    private static boolean crcMatches(byte[] b, int end, int crcAt) {
        int expected = ((b[crcAt] & 0xFF) << 24) | ((b[crcAt + 1] & 0xFF) << 16) | ((b[crcAt + 2] & 0xFF) << 8)
                | (b[crcAt + 3] & 0xFF);
        CRC32C crc = new CRC32C();
        crc.update(b, 0, crcAt);
        crc.update(new byte[4]);
        crc.update(b, crcAt + 4, end - crcAt - 4);
        return (int) crc.getValue() == expected;
    }

    private static InetAddress address(byte[] b, int at, int len) {
        byte[] a = new byte[len];
        System.arraycopy(b, at, a, 0, len);
        try {
            return InetAddress.getByAddress(a); // raw bytes: never a lookup
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // 4 or 16 bytes cannot be refused
        }
    }

    // ---------------------------------------------------------------- common

    private static boolean startsWith(byte[] b, int n, byte[] signature) {
        for (int i = 0; i < Math.min(n, signature.length); i++) {
            if (b[i] != signature[i]) {
                return false;
            }
        }
        return true;
    }

    private static boolean startsWith(byte[] b, int n, String prefix) {
        return startsWith(b, n, prefix.getBytes(StandardCharsets.US_ASCII));
    }

    private State done(ProxyHeader h) {
        header = h;
        state = State.DONE;
        return state;
    }

    private State fail(String why) {
        failure = why;
        state = State.FAILED;
        return state;
    }
}
