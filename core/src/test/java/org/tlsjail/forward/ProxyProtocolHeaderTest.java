package org.tlsjail.forward;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.tlsjail.banengine.Addresses;

class ProxyProtocolHeaderTest {
    private static InetSocketAddress at(String ip, int port) {
        return new InetSocketAddress(Addresses.parseLiteral(ip), port);
    }

    @Test
    void v1NamesFamilyAddressesAndPorts() {
        assertThat(new String(ProxyProtocolHeader.v1(at("10.10.14.7", 40000), at("192.0.2.1", 6619)), StandardCharsets.US_ASCII))
                .isEqualTo("PROXY TCP4 10.10.14.7 192.0.2.1 40000 6619\r\n");
        assertThat(new String(ProxyProtocolHeader.v1(at("2001:db8::7", 1), at("2001:db8::1", 6619)), StandardCharsets.US_ASCII))
                .isEqualTo("PROXY TCP6 2001:db8::7 2001:db8::1 1 6619\r\n");
        // an IPv4 client on a dual-stack socket is announced as IPv4
        assertThat(new String(ProxyProtocolHeader.v1(at("::ffff:10.0.0.9", 5), at("::ffff:10.0.0.1", 6619)), StandardCharsets.US_ASCII))
                .isEqualTo("PROXY TCP4 10.0.0.9 10.0.0.1 5 6619\r\n");
    }

    @Test
    void v2IsTheBinaryFormWithSignatureVersionFamilyAndLength() {
        byte[] h = ProxyProtocolHeader.v2(at("10.10.14.7", 0x9c40), at("192.0.2.1", 6619));
        assertThat(Arrays.copyOf(h, 12)).isEqualTo(ProxyProtocolHeader.V2_SIGNATURE);
        assertThat(h).hasSize(16 + 12);
        assertThat(h[12]).isEqualTo((byte) 0x21);
        assertThat(h[13]).isEqualTo((byte) 0x11);
        assertThat(h[14]).isZero();
        assertThat(h[15]).isEqualTo((byte) 12);
        assertThat(Arrays.copyOfRange(h, 16, 20)).containsExactly(10, 10, 14, 7);
        assertThat(Arrays.copyOfRange(h, 20, 24)).containsExactly(192, 0, 2, 1);
        assertThat(Arrays.copyOfRange(h, 24, 28)).containsExactly(0x9c, 0x40, 6619 >> 8, 6619 & 0xff);
        byte[] h6 = ProxyProtocolHeader.v2(at("2001:db8::7", 1), at("2001:db8::1", 2));
        assertThat(h6).hasSize(16 + 36);
        assertThat(h6[13]).isEqualTo((byte) 0x21);
    }
}
