package org.tlsjail.config;

import java.nio.file.Path;

/**
 * A configuration the daemon must not start with. The message is one line an operator can act
 * on as it stands: {@code file:line:column: key: what is wrong}.
 */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    private final String source;
    private final int line;
    private final int column;
    private final String key;
    private final String problem;

    /**
     * @param source the file (or "embedded default"), never null
     * @param line   1-based, 0 if unknown
     * @param column 1-based, 0 if unknown
     * @param key    dotted key such as {@code jail.maxretry}, or null
     */
    public ConfigException(String source, int line, int column, String key, String problem) {
        super(format(source, line, column, key, problem));
        this.source = source;
        this.line = line;
        this.column = column;
        this.key = key == null ? null : printable(key, MAX_KEY);
        this.problem = printable(String.valueOf(problem), MAX_PROBLEM);
    }

    public static ConfigException of(Path file, String key, String problem) {
        return new ConfigException(file == null ? "(embedded default)" : file.toString(), 0, 0, key, problem);
    }

    /** Longest key and problem text in a message: enough to act on, never a flood on the terminal. */
    static final int MAX_KEY = 100;
    static final int MAX_PROBLEM = 300;

    private static String format(String source, int line, int column, String key, String problem) {
        key = key == null ? null : printable(key, MAX_KEY);
        problem = printable(String.valueOf(problem), MAX_PROBLEM);
        source = printable(source, Integer.MAX_VALUE);
        StringBuilder sb = new StringBuilder(source);
        if (line > 0) {
            sb.append(':').append(line).append(':').append(column);
        }
        sb.append(": ");
        if (key != null && !key.isEmpty()) {
            sb.append(key).append(": ");
        }
        return sb.append(problem).toString();
    }

    /**
     * Key names and echoed values come from the file, which may hold anything a YAML escape can
     * write: control characters (terminal escapes, a newline that forges a second log line),
     * invisible format characters (BOM, bidi overrides) and megabytes. One printable line, bounded.
     */
    static String printable(String s, int max) {
        StringBuilder sb = new StringBuilder(Math.min(s.length(), max) + 3);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (sb.length() >= max) {
                sb.append("...");
                break;
            }
            int type = Character.getType(cp);
            boolean invisible = Character.isISOControl(cp) || type == Character.FORMAT || type == Character.LINE_SEPARATOR
                    || type == Character.PARAGRAPH_SEPARATOR || type == Character.SURROGATE || type == Character.UNASSIGNED
                    || type == Character.PRIVATE_USE;
            if (invisible) {
                sb.append('?');
            } else {
                sb.appendCodePoint(cp);
            }
        }
        return sb.toString();
    }

    public String source() { return source; }
    public int line() { return line; }
    public int column() { return column; }
    public String key() { return key; }
    public String problem() { return problem; }
}
