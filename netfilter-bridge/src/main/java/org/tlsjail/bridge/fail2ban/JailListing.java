package org.tlsjail.bridge.fail2ban;

import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One line of {@code get JAIL banip --with-time}:
 * {@code 192.0.2.7 \t2026-12-02 05:55:11 + 3600 = 2026-12-02 06:55:11}, times in the server's
 * local time zone (it runs on this host: the bridge talks to it over a unix socket).
 */
final class JailListing {
    private static final Pattern LINE = Pattern.compile(
            "\\S+\\s+(\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2})\\s+\\+\\s+(-?\\d+)\\s+=\\s+(\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2})\\s*");
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

    private JailListing() {
    }

    /** When Fail2Ban ends this ban (epoch ms; MAX_VALUE if permanent), or null if unreadable. */
    static Long endMillis(String entry) {
        Matcher m = LINE.matcher(entry);
        if (!m.matches()) {
            return null;
        }
        try {
            if (Long.parseLong(m.group(2)) < 0) {
                return Long.MAX_VALUE;
            }
            return LocalDateTime.parse(m.group(3), TIME).atZone(ZoneId.systemDefault()).toInstant().toEpochMilli();
        } catch (DateTimeParseException | NumberFormatException e) {
            return null;
        }
    }
}
