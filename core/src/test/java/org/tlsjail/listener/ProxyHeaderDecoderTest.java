package org.tlsjail.listener;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.CRC32C;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;
import org.tlsjail.banengine.Addresses;
import org.tlsjail.listener.ProxyHeaderDecoder.State;
import org.tlsjail.listener.ProxyProtocolSettings.Version;

/**
 * The PROXY header decoder fed as the gate feeds it: reads limited by {@code buffer().remaining()},
 * delivered in whatever pieces the network chooses. Bytes after the header (a ClientHello) must
 * never be consumed.
 */
class ProxyHeaderDecoderTest {
    /** 8 bytes standing for the ClientHello that follows the header in the same segment. */
    private static final byte[] HELLO = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01};

    /** Feeds {@code stream} in pieces of at most {@code pieces[i % n]} bytes; stops when the decoder is done or the stream ends. */
    record Fed(ProxyHeaderDecoder decoder, State state, int consumed) {
    }

    static Fed feed(Version version, byte[] stream, List<Integer> pieces) {
        ProxyHeaderDecoder d = new ProxyHeaderDecoder(version);
        int pos = 0;
        int i = 0;
        State state = State.NEED_MORE;
        while (state == State.NEED_MORE) {
            ByteBuffer b = d.buffer();
            assertThat(b.remaining()).as("a decoder that needs more must allow a read").isPositive();
            int n = Math.min(Math.min(b.remaining(), pieces.get(i++ % pieces.size())), stream.length - pos);
            if (n == 0) {
                break; // the stream ended: the gate sees EOF
            }
            b.put(stream, pos, n);
            pos += n;
            state = d.advance();
        }
        assertThat(d.consumed()).isEqualTo(pos);
        return new Fed(d, state, pos);
    }

    static Fed feedWhole(Version version, byte[] stream) {
        return feed(version, stream, List.of(Integer.MAX_VALUE));
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    static InetSocketAddress at(String ip, int port) {
        return new InetSocketAddress(Addresses.parseLiteral(ip), port);
    }

    /** A v2 PROXY header for TCP over IPv4 or IPv6 with the given TLV bytes appended. */
    static byte[] v2(String src, String dst, int sport, int dport, byte[] tlvs) {
        byte[] s = Addresses.parseLiteral(src).getAddress();
        byte[] d = Addresses.parseLiteral(dst).getAddress();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ProxyHeaderDecoder.V2_SIGNATURE);
        out.write(0x21);
        out.write(s.length == 4 ? 0x11 : 0x21);
        int len = 2 * s.length + 4 + tlvs.length;
        out.write(len >>> 8);
        out.write(len & 0xFF);
        out.writeBytes(s);
        out.writeBytes(d);
        out.write(sport >>> 8);
        out.write(sport & 0xFF);
        out.write(dport >>> 8);
        out.write(dport & 0xFF);
        out.writeBytes(tlvs);
        return out.toByteArray();
    }

    static byte[] tlv(int type, byte[] value) {
        return concat(new byte[] {(byte) type, (byte) (value.length >>> 8), (byte) value.length}, value);
    }

    // ---------------------------------------------------------------- v1

    @Test
    void v1Tcp4And6AreReadExactlyAndTheClientHelloStaysUnread() {
        Fed f = feedWhole(Version.V1, concat(ascii("PROXY TCP4 192.0.2.7 198.51.100.1 40000 6619\r\n"), HELLO));
        assertThat(f.state()).isEqualTo(State.DONE);
        assertThat(f.consumed()).isEqualTo(46);
        assertThat(f.decoder().header()).isEqualTo(new ProxyHeader(at("192.0.2.7", 40000), at("198.51.100.1", 6619)));

        Fed six = feedWhole(Version.ANY, concat(ascii("PROXY TCP6 2001:db8::7 2001:db8::1 1 65535\r\n"), HELLO));
        assertThat(six.state()).isEqualTo(State.DONE);
        assertThat(six.decoder().header().source()).isEqualTo(at("2001:db8::7", 1));
        assertThat(six.consumed()).isEqualTo("PROXY TCP6 2001:db8::7 2001:db8::1 1 65535\r\n".length());
    }

    @Test
    void v1UnknownMeansTheConnectionsOwnEndpoints() {
        Fed f = feedWhole(Version.V1, concat(ascii("PROXY UNKNOWN\r\n"), HELLO));
        assertThat(f.state()).isEqualTo(State.DONE);
        assertThat(f.decoder().header().isLocal()).isTrue();
        assertThat(f.consumed()).isEqualTo(15);
        Fed g = feedWhole(Version.V1, concat(ascii("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"), HELLO));
        assertThat(g.state()).isEqualTo(State.DONE);
        assertThat(g.decoder().header().isLocal()).isTrue();
    }

    @Test
    void v1MalformedHeadersFail() {
        for (String bad : List.of(
                "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", // case matters
                "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", // LF alone
                "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n",
                "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", // two spaces
                "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
                "PROXY TCP4 localhost 5.6.7.8 1 2\r\n", // names are never resolved
                "PROXY TCP4 ::1 5.6.7.8 1 2\r\n", // family mismatch
                "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
                "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
                "PROXY TCP4 1.2.3.4 5.6.7.8 0123 2\r\n",
                "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
                "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
                "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
                "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
                "PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n",
                "PROXY TCP6 [::1] ::2 1 2\r\n",
                "PROXY TCP6 fe80::1%eth0 ::2 1 2\r\n",
                "PROXY TCP6 .::1 ::2 1 2\r\n", // literal characters, yet a name: never handed to the resolver
                "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\u00e9\r\n")) {
            Fed f = feedWhole(Version.ANY, concat(ascii(bad), HELLO));
            assertThat(f.state()).as(bad).isEqualTo(State.FAILED);
            // a bad header closes the connection, so what follows it may be read, but never past 107 bytes
            assertThat(f.consumed()).as(bad).isLessThanOrEqualTo(ProxyHeaderDecoder.V1_MAX);
            assertThat(f.decoder().failure()).as(bad).isNotBlank().matches("[ -~]+");
        }
    }

    @Test
    void v1LongerThan107BytesFailsAfterReading107() {
        String line = "PROXY UNKNOWN " + "x".repeat(200) + "\r\n";
        Fed f = feedWhole(Version.V1, ascii(line));
        assertThat(f.state()).isEqualTo(State.FAILED);
        assertThat(f.consumed()).isEqualTo(ProxyHeaderDecoder.V1_MAX);
        // exactly 107 is the limit, and is accepted
        String max = "PROXY UNKNOWN " + "x".repeat(107 - 16) + "\r\n";
        assertThat(max).hasSize(107);
        assertThat(feedWhole(Version.V1, ascii(max)).state()).isEqualTo(State.DONE);
    }

    @Test
    void somethingElseFailsOnTheFirstRead() {
        for (byte[] other : List.of(HELLO, ascii("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), new byte[] {0, 0, 0, 0})) {
            Fed f = feedWhole(Version.ANY, other);
            assertThat(f.state()).isEqualTo(State.FAILED);
            assertThat(f.consumed()).isLessThanOrEqualTo(15);
        }
        // the version not configured is refused
        assertThat(feedWhole(Version.V2, ascii("PROXY UNKNOWN\r\n")).state()).isEqualTo(State.FAILED);
        assertThat(feedWhole(Version.V1, v2("1.2.3.4", "5.6.7.8", 1, 2, new byte[0])).state()).isEqualTo(State.FAILED);
    }

    @Test
    void aTruncatedHeaderNeverCompletes() {
        byte[] whole = ascii("PROXY TCP4 192.0.2.7 198.51.100.1 40000 6619\r\n");
        for (int cut = 0; cut < whole.length; cut++) {
            Fed f = feedWhole(Version.ANY, java.util.Arrays.copyOf(whole, cut));
            assertThat(f.state()).isEqualTo(State.NEED_MORE);
        }
    }

    // ---------------------------------------------------------------- v2

    @Test
    void v2AsHaproxySendsItWithAUniqueIdTlv() {
        // HAProxy 2.6.12, send-proxy-v2 proxy-v2-options unique-id (docs/scale-out-facts.md)
        byte[] h = HexFormat.of().parseHex("0d0a0d0a000d0a515549540a" + "2111000f" + "7f000001" + "7f000001"
                + "b0ae" + "480b" + "050000");
        Fed f = feedWhole(Version.V2, concat(h, HELLO));
        assertThat(f.state()).isEqualTo(State.DONE);
        assertThat(f.consumed()).isEqualTo(h.length);
        assertThat(f.decoder().header()).isEqualTo(new ProxyHeader(at("127.0.0.1", 0xb0ae), at("127.0.0.1", 0x480b)));
    }

    @Test
    void v2Ipv6WithOddTlvsIsSkippedSafely() {
        byte[] tlvs = concat(tlv(0x04, new byte[0]), tlv(0x20, new byte[300]), tlv(0xE0, new byte[] {1, 2, 3}),
                tlv(0x01, ascii("h2")), tlv(0x02, ascii("example.com")), tlv(0x05, new byte[128]));
        byte[] h = v2("2001:db8::7", "2001:db8::1", 443, 6619, tlvs);
        Fed f = feed(Version.ANY, concat(h, HELLO), List.of(3));
        assertThat(f.state()).isEqualTo(State.DONE);
        assertThat(f.consumed()).isEqualTo(h.length);
        assertThat(f.decoder().header().source()).isEqualTo(at("2001:db8::7", 443));
    }

    @Test
    void v2LocalUnspecAndUnixUseTheConnectionsOwnEndpoints() {
        byte[] local = HexFormat.of().parseHex("0d0a0d0a000d0a515549540a" + "2000" + "0000");
        Fed f = feedWhole(Version.V2, concat(local, HELLO));
        assertThat(f.state()).isEqualTo(State.DONE);
        assertThat(f.decoder().header().isLocal()).isTrue();
        assertThat(f.consumed()).isEqualTo(16);
        // LOCAL with a block (even nonsense): skipped unread
        byte[] localWithBlock = concat(HexFormat.of().parseHex("0d0a0d0a000d0a515549540a" + "20ff" + "0005"), new byte[5]);
        assertThat(feedWhole(Version.V2, concat(localWithBlock, HELLO)).consumed()).isEqualTo(21);
        byte[] unspec = HexFormat.of().parseHex("0d0a0d0a000d0a515549540a" + "2100" + "0000");
        assertThat(feedWhole(Version.V2, unspec).decoder().header().isLocal()).isTrue();
        byte[] unix = concat(HexFormat.of().parseHex("0d0a0d0a000d0a515549540a" + "2131" + "00d8"), new byte[216]);
        Fed u = feedWhole(Version.V2, concat(unix, HELLO));
        assertThat(u.decoder().header().isLocal()).isTrue();
        assertThat(u.consumed()).isEqualTo(16 + 216);
    }

    @Test
    void v2MalformedHeadersFail() {
        String sig = "0d0a0d0a000d0a515549540a";
        for (String bad : List.of(
                sig + "1111000c" + "7f0000017f000001" + "00010002", // version 1
                sig + "2211000c" + "7f0000017f000001" + "00010002", // command 2
                sig + "2141000c" + "7f0000017f000001" + "00010002", // family 4
                sig + "2112000c" + "7f0000017f000001" + "00010002", // UDP
                sig + "21110008" + "7f0000017f000001", // too short for IPv4
                sig + "2121000c" + "7f0000017f000001" + "00010002", // too short for IPv6
                sig + "2111000e" + "7f0000017f000001" + "00010002" + "0400", // TLV cut inside its header
                sig + "21110010" + "7f0000017f000001" + "00010002" + "04ffff00")) { // TLV longer than the header
            Fed f = feedWhole(Version.V2, concat(HexFormat.of().parseHex(bad), HELLO));
            assertThat(f.state()).as(bad).isEqualTo(State.FAILED);
            assertThat(f.consumed()).as(bad).isLessThanOrEqualTo(bad.length() / 2);
        }
    }

    @Test
    void v2LengthIsCappedBeforeAnythingIsAllocatedOrRead() {
        byte[] huge = HexFormat.of().parseHex("0d0a0d0a000d0a515549540a" + "2111" + "ffff");
        Fed f = feedWhole(Version.V2, concat(huge, new byte[70_000]));
        assertThat(f.state()).isEqualTo(State.FAILED);
        assertThat(f.consumed()).isEqualTo(16);
        assertThat(f.decoder().failure()).contains("65535");
        int max = ProxyHeaderDecoder.V2_MAX_LENGTH;
        byte[] atCap = v2("10.0.0.1", "10.0.0.2", 1, 2, tlv(0x04, new byte[max - 12 - 3]));
        assertThat(feedWhole(Version.V2, atCap).state()).isEqualTo(State.DONE);
        byte[] overCap = v2("10.0.0.1", "10.0.0.2", 1, 2, tlv(0x04, new byte[max - 12 - 2]));
        assertThat(feedWhole(Version.V2, overCap).state()).isEqualTo(State.FAILED);
    }

    @Test
    void v2Crc32cIsChecked() {
        byte[] h = v2("192.0.2.7", "192.0.2.1", 5000, 6619, tlv(0x03, new byte[4]));
        CRC32C crc = new CRC32C();
        crc.update(h);
        int v = (int) crc.getValue();
        int at = h.length - 4;
        h[at] = (byte) (v >>> 24);
        h[at + 1] = (byte) (v >>> 16);
        h[at + 2] = (byte) (v >>> 8);
        h[at + 3] = (byte) v;
        assertThat(feedWhole(Version.V2, h).state()).isEqualTo(State.DONE);
        h[17] ^= 1; // another source address: the checksum no longer matches
        assertThat(feedWhole(Version.V2, h).state()).isEqualTo(State.FAILED);
    }

    // ---------------------------------------------------------------- properties

    @Provide
    Arbitrary<byte[]> validHeaders() {
        Arbitrary<String> v4 = Arbitraries.integers().between(0, 255).list().ofSize(4)
                .map(l -> l.get(0) + "." + l.get(1) + "." + l.get(2) + "." + l.get(3));
        Arbitrary<Integer> port = Arbitraries.integers().between(0, 65535);
        Arbitrary<byte[]> v1 = net.jqwik.api.Combinators.combine(v4, v4, port, port)
                .as((s, d, sp, dp) -> ascii("PROXY TCP4 " + s + " " + d + " " + sp + " " + dp + "\r\n"));
        Arbitrary<byte[]> v1six = net.jqwik.api.Combinators.combine(port, port)
                .as((sp, dp) -> ascii("PROXY TCP6 2001:db8::" + Integer.toHexString(sp) + " ::1 " + sp + " " + dp + "\r\n"));
        Arbitrary<byte[]> tlvs = Arbitraries.integers().between(0, 255)
                .flatMap(t -> Arbitraries.bytes().array(byte[].class).ofMaxSize(200)
                        .map(v -> tlv(t == 3 ? 4 : t, v))) // no CRC32C here: its value would have to match
                .list().ofMaxSize(5).map(l -> concat(l.toArray(new byte[0][])));
        Arbitrary<byte[]> v2 = net.jqwik.api.Combinators.combine(v4, v4, port, port, tlvs)
                .as((s, d, sp, dp, t) -> v2(s, d, sp, dp, t));
        return Arbitraries.oneOf(v1, v1six, v2);
    }

    @Property(tries = 300)
    void anySplitGivesTheSameHeaderAndConsumesNothingAfterIt(@ForAll("validHeaders") byte[] header,
            @ForAll @Size(min = 1, max = 12) List<@IntRange(min = 1, max = 64) Integer> pieces,
            @ForAll @Size(max = 40) byte[] after) {
        Fed whole = feedWhole(Version.ANY, header);
        assertThat(whole.state()).isEqualTo(State.DONE);
        Fed split = feed(Version.ANY, concat(header, after), pieces);
        assertThat(split.state()).isEqualTo(State.DONE);
        assertThat(split.consumed()).isEqualTo(header.length);
        assertThat(split.decoder().header()).isEqualTo(whole.decoder().header());
    }

    @Property(tries = 300)
    void hostileBytesNeverThrowNorReadPastTheLimits(@ForAll @Size(max = 300) byte[] junk,
            @ForAll @Size(min = 1, max = 8) List<@IntRange(min = 1, max = 50) Integer> pieces,
            @ForAll boolean v2Signature) {
        byte[] stream = v2Signature ? concat(ProxyHeaderDecoder.V2_SIGNATURE, junk) : concat(ascii("PROXY "), junk);
        Fed f = feed(Version.ANY, stream, pieces);
        assertThat(f.consumed()).isLessThanOrEqualTo(ProxyHeaderDecoder.V2_FIXED + ProxyHeaderDecoder.V2_MAX_LENGTH);
        if (!v2Signature) {
            assertThat(f.consumed()).isLessThanOrEqualTo(ProxyHeaderDecoder.V1_MAX);
        }
        if (f.state() == State.FAILED) {
            assertThat(f.decoder().failure()).matches("[ -~]+");
        }
    }
}
