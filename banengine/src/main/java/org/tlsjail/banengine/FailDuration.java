package org.tlsjail.banengine;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations written the way Fail2Ban's jail.conf takes them (its {@code MyTime.str2seconds}):
 * plain seconds ({@code 600}), units ({@code 10m}, {@code 1h}, {@code 1d}, {@code 1w},
 * {@code 1mo}, {@code 1y}) and their words ({@code 10 minutes}, {@code 2 days}, {@code 1 hour},
 * {@code 3 sec}, {@code 6 months}), combinations with or without spaces ({@code 1d12h30m},
 * {@code 1 hour 30 min}), explicit sums and differences ({@code 1hour+30min}, {@code 1year-6mo}),
 * fractions ({@code 0.5d}, {@code .5h}); {@code -1} means permanent where a ban time is asked for.
 * Operators copy values between jail.conf and tlsjail.yaml, so the same text means the same
 * number of seconds in both. Fail2Ban evaluates the text as a Python expression after rewriting
 * the units; products, quotients and parentheses it would also evaluate are refused here.
 */
public final class FailDuration {
    /** What {@code -1} parses to: a ban with no end. */
    public static final Duration PERMANENT = Duration.ofSeconds(-1);
    /** The longest finite duration accepted anywhere (a ban, bantime); longer must be permanent. */
    public static final Duration LONGEST = Duration.ofDays(100L * 365);

    /** Fail2Ban's month and year: a leap-year-averaged year ((365 * 3 + 366) / 4 days) and a twelfth of it. */
    private static final double YEAR = (365 * 3 + 366) * 86400 / 4.0;
    private static final double MONTH = YEAR / 12;

    private static final Pattern NUMBER = Pattern.compile("\\d+(?:\\.\\d*)?|\\.\\d+");
    /**
     * Fail2Ban's unit words, in its own alternation order; a unit must not run on into another
     * letter (the regex word boundary in Fail2Ban: {@code 1mins} is not a duration there either).
     */
    private static final Pattern UNIT = Pattern.compile(
            "(days?|da|dd?|weeks?|wee?|ww?|months?|mon?|years?|yea?|yy?|seconds?|sec?|ss?|minutes?|min?|mm?|hours?|hou?|hh?)"
                    + "(?![\\p{L}_])", Pattern.CASE_INSENSITIVE);

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
        Matcher number = NUMBER.matcher(s);
        Matcher unit = UNIT.matcher(s);
        double seconds = 0;
        int sign = 1;
        boolean expectTerm = true; // at the start and after + or -
        int pos = 0;
        while (true) {
            pos = skipSpaces(s, pos);
            if (pos == s.length()) {
                break;
            }
            char c = s.charAt(pos);
            if (c == '+' || c == '-') {
                if (expectTerm) {
                    throw bad(option, text); // "-5", "--1", "1h+-2"
                }
                sign = c == '+' ? 1 : -1;
                expectTerm = true;
                pos++;
                continue;
            }
            if (!number.find(pos) || number.start() != pos) {
                throw bad(option, text);
            }
            String digits = number.group();
            if (digits.length() > 1 && digits.charAt(0) == '0' && digits.indexOf('.') < 0 && !digits.matches("0+")) {
                throw bad(option, text); // Python (so Fail2Ban) refuses an integer with a leading zero: "010"
            }
            double n = Double.parseDouble(digits);
            pos = skipSpaces(s, number.end());
            boolean spaced = pos > number.end();
            double factor = 1;
            boolean hasUnit = false;
            // Fail2Ban only reads a unit right after a digit or a space: "5.h" is not a duration there
            if (pos < s.length() && (spaced || Character.isDigit(s.charAt(pos - 1))) && unit.find(pos) && unit.start() == pos) {
                factor = unitSeconds(unit.group(1));
                hasUnit = true;
                pos = unit.end();
            }
            seconds += sign * n * factor;
            sign = 1;
            expectTerm = false;
            // What may follow a term: the end, a space, an operator, or (after a unit) the next number.
            if (pos < s.length()) {
                char next = s.charAt(pos);
                boolean ok = Character.isWhitespace(next) || next == '+' || next == '-'
                        || (hasUnit && Character.isDigit(next)) || (spaced && !hasUnit && Character.isDigit(next));
                if (!ok) {
                    throw bad(option, text);
                }
            }
        }
        if (expectTerm) {
            throw bad(option, text); // "1h-"
        }
        if (seconds < 0) {
            throw new IllegalArgumentException(option + ": '" + text + "' is negative (-1 alone means permanent)");
        }
        if (seconds > LONGEST.toSeconds()) {
            throw new IllegalArgumentException(option + ": '" + text + "' is longer than 100 years; use -1 for permanent");
        }
        return Duration.ofMillis(Math.round(seconds * 1000));
    }

    private static int skipSpaces(String s, int pos) {
        while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
            pos++;
        }
        return pos;
    }

    private static IllegalArgumentException bad(String option, String text) {
        return new IllegalArgumentException(option + ": '" + text
                + "' is not a duration (examples: 600, 10m, 1h, 1d12h, 1 hour 30 min, 2 days, 0.5d; -1 for permanent)");
    }

    private static double unitSeconds(String unit) {
        String u = unit.toLowerCase(java.util.Locale.ROOT);
        if (u.startsWith("mo")) {
            return MONTH;
        }
        if (u.startsWith("mi") || u.equals("m") || u.equals("mm")) {
            return 60;
        }
        switch (u.charAt(0)) {
            case 'y': return YEAR;
            case 'w': return 7 * 86400;
            case 'd': return 86400;
            case 'h': return 3600;
            default: return 1; // s, sec, second(s)
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
