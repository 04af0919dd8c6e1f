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
        this.key = key;
        this.problem = problem;
    }

    public static ConfigException of(Path file, String key, String problem) {
        return new ConfigException(file == null ? "(embedded default)" : file.toString(), 0, 0, key, problem);
    }

    private static String format(String source, int line, int column, String key, String problem) {
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

    public String source() { return source; }
    public int line() { return line; }
    public int column() { return column; }
    public String key() { return key; }
    public String problem() { return problem; }
}
