package org.tlsjail.listener;

/**
 * Why a handshake failed, each with the OpenSSL 3 code and reason string an OpenSSL server would
 * have logged for the same client behaviour (see README "Fail2Ban"). Alerts received from the
 * client and rejected certificates carry details on top, see {@link HandshakeFailure}.
 */
public enum FailureKind {
    NO_CERTIFICATE(167772359L, "peer did not return a certificate"),
    CERTIFICATE_REJECTED(167772294L, "certificate verify failed"),
    NO_SHARED_CIPHER(167772353L, "no shared cipher"),
    UNSUPPORTED_PROTOCOL(167772418L, "unsupported protocol"),
    HTTP_REQUEST(167772316L, "http request"),
    HTTPS_PROXY_REQUEST(167772315L, "https proxy request"),
    WRONG_VERSION_NUMBER(167772427L, "wrong version number"),
    PACKET_LENGTH_TOO_LONG(167772358L, "packet length too long"),
    UNEXPECTED_MESSAGE(167772404L, "unexpected message"),
    UNEXPECTED_EOF(167772454L, "unexpected eof while reading"),
    /** A fatal alert sent by the client: code 167773160 + alert, see {@link OpenSslAlerts}. */
    ALERT_RECEIVED(167773160L, "alert"),
    /** errno ECONNRESET as OpenSSL packs system errors: 0x80000000 | 104. */
    CONNECTION_RESET(2147483752L, "Connection reset by peer"),
    /** tlsjail's choice (OpenSSL has no handshake timeout): errno ETIMEDOUT packed, 0x80000000 | 110. */
    HANDSHAKE_TIMEOUT(2147483758L, "Connection timed out"),
    /** Anything not classified more precisely. */
    HANDSHAKE_FAILURE(167772389L, "ssl handshake failure");

    private final long code;
    private final String reason;

    FailureKind(long code, String reason) {
        this.code = code;
        this.reason = reason;
    }

    /** The base code (for {@link #ALERT_RECEIVED} the alert number is added). */
    public long code() {
        return code;
    }

    public String reason() {
        return reason;
    }

    /** Looks a kind up by its config name ({@code no-certificate}, {@code http-request}, ...). */
    public static FailureKind fromConfigName(String name) {
        for (FailureKind k : values()) {
            if (k.configName().equals(name)) {
                return k;
            }
        }
        throw new IllegalArgumentException("weights: unknown failure kind '" + name + "' (known: "
                + java.util.Arrays.stream(values()).map(FailureKind::configName).collect(java.util.stream.Collectors.joining(", "))
                + ")");
    }

    /** The config name of the kind, e.g. {@code no-certificate}. */
    public String configName() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
