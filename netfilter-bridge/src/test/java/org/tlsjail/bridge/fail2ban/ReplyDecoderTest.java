package org.tlsjail.bridge.fail2ban;

import static org.assertj.core.api.Assertions.assertThat;
import org.tlsjail.testing.FakeFail2BanServer;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Replies captured byte for byte from fail2ban-server 1.0.2 (Debian 12), terminator stripped. */
class ReplyDecoderTest {

    private static byte[] hex(String h) {
        return HexFormat.of().parseHex(h.replace(" ", ""));
    }

    @Test
    void pong() {
        // (0, 'pong') in protocol 5
        Fail2BanReply r = ReplyDecoder.decode(hex("80 05 95 0c 00 00 00 00 00 00 00 4b 00 8c 04 70 6f 6e 67 94 86 94 2e"));
        assertThat(r.isOk()).isTrue();
        assertThat(r.value()).isEqualTo("pong");
    }

    @Test
    void anExceptionOfAnUnknownClassIsAFailedCommandNamingIt() {
        // (1, fail2ban.exceptions.UnknownJailException('nojail')) for `status nojail`
        Fail2BanReply r = ReplyDecoder.decode(hex("80 05 95 41 00 00 00 00 00 00 00 4b 01 8c 13"
                + HexFormat.of().formatHex("fail2ban.exceptions".getBytes(StandardCharsets.US_ASCII))
                + "94 8c 14" + HexFormat.of().formatHex("UnknownJailException".getBytes(StandardCharsets.US_ASCII))
                + "94 93 94 8c 06" + HexFormat.of().formatHex("nojail".getBytes(StandardCharsets.US_ASCII))
                + "94 85 94 52 94 86 94 2e"));
        assertThat(r.kind()).isEqualTo(Fail2BanReply.Kind.FAILED);
        assertThat(r.message()).contains("UnknownJailException('nojail')");
    }

    @Test
    void bannedListOfReducedStrSubclassesBecomesStrings() {
        // (0, [builtins.str('10.1.2.0/24')]) for `get os4x banned`: IPAddr pickles as a reduced str
        Fail2BanReply r = ReplyDecoder.decode(hex("80 05 95 2d 00 00 00 00 00 00 00 4b 00 5d 94 8c 08"
                + HexFormat.of().formatHex("builtins".getBytes(StandardCharsets.US_ASCII)) + "94 8c 03"
                + HexFormat.of().formatHex("str".getBytes(StandardCharsets.US_ASCII)) + "94 93 94 8c 0b"
                + HexFormat.of().formatHex("10.1.2.0/24".getBytes(StandardCharsets.US_ASCII))
                + "94 85 94 52 94 61 86 94 2e"));
        assertThat(r.isOk()).isTrue();
        assertThat(r.value()).isEqualTo(List.of("10.1.2.0/24"));
    }

    @Test
    void unknownObjectsWithStateAreStillReadable() {
        // (1, __main__.Obj()) with a __dict__, protocols 2 and 5: NEWOBJ followed by BUILD
        assertThat(ReplyDecoder.decode(hex("80024b01635f5f6d61696e5f5f0a4f626a0a7100298171017d710258010000006171034b0173628671042e"))
                .message()).contains("Obj");
        assertThat(ReplyDecoder.decode(hex("80059525000000000000004b018c085f5f6d61696e5f5f948c034f626a9493942981947d948c0161944b01736286942e"))
                .kind()).isEqualTo(Fail2BanReply.Kind.FAILED);
        // an exception with an extra attribute: REDUCE then BUILD
        Fail2BanReply r = ReplyDecoder.decode(hex("80059530000000000000004b018c085f5f6d61696e5f5f948c0557656972649493948c017894859452947d948c056578747261944b05736286942e"));
        assertThat(r.kind()).isEqualTo(Fail2BanReply.Kind.FAILED);
        assertThat(r.message()).contains("Weird('x')");
    }

    @Test
    void aBareErrorStringIsAProtocolError() {
        // what the server answers to bytes it cannot unpickle
        byte[] body = FakeFail2BanServer.pickle("ERROR: pickle data was truncated");
        Fail2BanReply r = ReplyDecoder.decode(body);
        assertThat(r.kind()).isEqualTo(Fail2BanReply.Kind.PROTOCOL_ERROR);
        assertThat(r.message()).contains("ERROR: pickle data was truncated");
    }

    @Test
    void garbageAndTruncatedPicklesAreGarbageNotExceptions() {
        assertThat(ReplyDecoder.decode("hello".getBytes(StandardCharsets.US_ASCII)).kind())
                .isEqualTo(Fail2BanReply.Kind.GARBAGE);
        assertThat(ReplyDecoder.decode(new byte[0]).kind()).isEqualTo(Fail2BanReply.Kind.GARBAGE);
        assertThat(ReplyDecoder.decode(hex("80 05 95 0c 00 00 00 00 00 00 00 4b 00 8c 04 70 6f")).kind())
                .isEqualTo(Fail2BanReply.Kind.GARBAGE);
        assertThat(ReplyDecoder.decode(FakeFail2BanServer.pickle(42)).kind()).isEqualTo(Fail2BanReply.Kind.GARBAGE);
        // a global nobody knows, not inside the (code, value) shape
        assertThat(ReplyDecoder.decode(hex("80 02 63 6f 73 0a 73 79 73 74 65 6d 0a 2e")).kind())
                .isEqualTo(Fail2BanReply.Kind.GARBAGE);
    }
}
