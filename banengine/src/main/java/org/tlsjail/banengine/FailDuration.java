package org.tlsjail.banengine;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations written the way Fail2Ban's jail.conf takes them: plain seconds ({@code 600}), units
 * ({@code 10m}, {@code 1h}, {@code 1d}, {@code 1w}, {@code 1mo}, {@code 1y}), combinations
 * ({@code 1d12h30m}), fractions ({@code 0.5d}); {@code -1} means permanent where a ban time is
 * asked for. Operators copy values between jail.conf and tlsjail.yaml, so both read alike.
 */
public final class FailDuration {
    /** What {@code -1} parses to: a ban with no end. */
    public static final Duration PERMANENT = Duration.ofSeconds(-1);
    /** The longest finite duration accepted anywhere (a ban, bantime); longer must be permanent. */
    public static final Duration LONGEST = Duration.ofDays(100L * 365);

    private static final Pattern PART = Pattern.compile(
            "(\\d+(?:\\.\\d+)?)\\s*(years?|yy?|months?|mo|weeks?|ww?|days?|dd?|hours?|hh?|minutes?|mm?|seconds?|ss?)?",
            Pattern.CASE_INSENSITIVE);

    private FailDuration() {
    }

    /** Parses {@code text}; {@code option} names the setting in the error message. */
    public static Duration parse(String text, String option) {
        String s = text == null ? "" : text.strip();
        if (s.equals("-1")) {
            return PERMANENT;
        }
        if (s.isEmpty()) {
            throw new IllegalArgumentException(option + ": empty duration");
        }
        Matcher m = PART.matcher(s);
        double seconds = 0;
        int pos = 0;
        while (pos < s.length()) {
            if (Character.isWhitespace(s.charAt(pos))) {
                pos++;
                continue;
            }
            if (!m.find(pos) || m.start() != pos || m.end() == pos) {
                throw bad(option, text);
            }
            double n = Double.parseDouble(m.group(1));
            seconds += n * unitSeconds(m.group(2));
            pos = m.end();
        }
        if (seconds > LONGEST.toSeconds()) {
            throw new IllegalArgumentException(option + ": '" + text + "' is longer than 100 years; use -1 for permanent");
        }
        return Duration.ofMillis(Math.round(seconds * 1000));
    }

    private static IllegalArgumentException bad(String option, String text) {
        return new IllegalArgumentException(option + ": '" + text
                + "' is not a duration (examples: 600, 10m, 1h, 1d12h, 0.5d, 1w; -1 for permanent)");
    }

    private static double unitSeconds(String unit) {
        if (unit == null) {
            return 1;
        }
        String u = unit.toLowerCase(java.util.Locale.ROOT);
        if (u.startsWith("mo")) {
            return 30.4375 * 86400; // Fail2Ban's month: a year / 12
        }
        switch (u.charAt(0)) {
            case 'y': return 365.25 * 86400;
            case 'w': return 7 * 86400;
            case 'd': return 86400;
            case 'h': return 3600;
            case 'm': return 60;
            default: return 1;
        }
    }

    /** Prints a duration back in the same syntax, shortest exact form ({@code 3600} prints as {@code 1h}). */
    public static String format(Duration d) {
        if (d.isNegative()) {
            return "-1";
        }
        long ms = d.toMillis();
        if (ms % 1000 != 0) {
            return (ms / 1000.0) + "s";
        }
        long s = ms / 1000;
        if (s == 0) {
            return "0";
        }
        long[] units = {7 * 86400, 86400, 3600, 60, 1};
        String[] names = {"w", "d", "h", "m", "s"};
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < units.length; i++) {
            if (s >= units[i]) {
                sb.append(s / units[i]).append(names[i]);
                s %= units[i];
            }
        }
        return sb.toString();
    }
}
