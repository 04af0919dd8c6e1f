package org.tlsjail.fail2banlog;

/**
 * Reduces client-controlled text (certificate CN, SNI, ...) to something that cannot change what
 * Fail2Ban extracts from a line. The OS4X failregexes anchor on {@code during connect try from
 * <HOST>} followed by {@code ": "} or by a space: text without spaces and colons can never form
 * that phrase, a second host position or the {@code ": "} separator, so only
 * {@code [A-Za-z0-9._-]} survives; everything else (spaces, colons, parentheses, brackets, control
 * characters, any non-ASCII look-alike) becomes {@code _}, and the result is cut to 64 chars.
 */
public final class LogText {
    /** Longest client text written (an X.509 CN is at most 64 characters by RFC 5280). */
    public static final int MAX_LENGTH = 64;

    private LogText() {
    }

    public static String safe(String clientText) {
        if (clientText == null || clientText.isEmpty()) {
            return "-";
        }
        int n = Math.min(clientText.length(), MAX_LENGTH);
        StringBuilder sb = new StringBuilder(n + 1);
        for (int i = 0; i < n; i++) {
            char c = clientText.charAt(i);
            boolean ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || c == '.' || c == '_' || c == '-';
            sb.append(ok ? c : '_');
        }
        return sb.toString();
    }
}
