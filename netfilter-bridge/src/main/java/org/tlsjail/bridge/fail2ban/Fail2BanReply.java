package org.tlsjail.bridge.fail2ban;

/**
 * One decoded answer of the Fail2Ban server, whatever it sent.
 *
 * @param kind    how the server answered
 * @param value   the result for {@link Kind#OK} (a String, Integer/Long, List, Object[], ...),
 *                otherwise null
 * @param message for anything but OK: a readable description
 */
record Fail2BanReply(Kind kind, Object value, String message) {

    enum Kind {
        /** {@code (0, result)}. */
        OK,
        /** {@code (1, exception)}: the command failed (unknown jail, bad argument, ...). */
        FAILED,
        /** A bare {@code "ERROR: ..."} string: the server could not read the request. */
        PROTOCOL_ERROR,
        /** Something that is not Fail2Ban's reply format at all. */
        GARBAGE
    }

    static Fail2BanReply ok(Object value) {
        return new Fail2BanReply(Kind.OK, value, null);
    }

    boolean isOk() {
        return kind == Kind.OK;
    }

    /** The result as an int (for banip/unbanip/attempt counts), or -1 if it is not a number. */
    int intValue() {
        return value instanceof Number n ? n.intValue() : -1;
    }

    @Override
    public String toString() {
        return isOk() ? "OK " + value : kind + ": " + message;
    }
}
