package org.tlsjail.control;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The control socket's wire format, shared by daemon and CLI. Deliberately tiny: the client sends
 * one request line (words separated by single spaces, at most {@link #MAX_REQUEST} bytes,
 * terminated by LF) and the daemon answers {@code OK} or {@code ERR <reason>} on the first line,
 * then an optional body, then closes the connection.
 */
public final class ControlProtocol {
    public static final int MAX_REQUEST = 1024;
    /** A banned list of 100,000 sources is a few MB; anything far beyond is not a reply. */
    public static final int MAX_REPLY = 64 << 20;
    public static final int REQUEST_TIMEOUT_MILLIS = 5_000;

    private ControlProtocol() {
    }

    public static byte[] encodeRequest(List<String> words) {
        for (String w : words) {
            if (w.isEmpty() || w.chars().anyMatch(c -> c <= 0x20 || c == 0x7f)) {
                throw new IllegalArgumentException("argument contains spaces or control characters");
            }
        }
        byte[] b = (String.join(" ", words) + "\n").getBytes(StandardCharsets.UTF_8);
        if (b.length > MAX_REQUEST) {
            throw new IllegalArgumentException("request longer than " + MAX_REQUEST + " bytes");
        }
        return b;
    }

    /** One reply: {@code ok} and a body (possibly empty), or not ok and a one-line reason. */
    public record Reply(boolean ok, String body) {
        public static Reply ok(String body) {
            return new Reply(true, body);
        }

        public static Reply error(String reason) {
            return new Reply(false, reason.replaceAll("[\\r\\n]+", " "));
        }

        public byte[] encode() {
            String head = ok ? "OK\n" + body : "ERR " + body + "\n";
            if (ok && !body.isEmpty() && !body.endsWith("\n")) {
                head += "\n";
            }
            return head.getBytes(StandardCharsets.UTF_8);
        }

        public static Reply decode(String text) {
            if (text.startsWith("OK\n")) {
                return new Reply(true, text.substring(3));
            }
            if (text.startsWith("ERR ")) {
                return new Reply(false, text.substring(4).strip());
            }
            return new Reply(false, "malformed reply from the daemon");
        }
    }
}
