package org.tlsjail.bridge.fail2ban;

import java.util.List;

/**
 * Turns the bytes of one reply (terminator already stripped) into a {@link Fail2BanReply}.
 * Never throws: a reply it cannot read becomes {@link Fail2BanReply.Kind#GARBAGE}.
 */
final class ReplyDecoder {

    private ReplyDecoder() {
    }

    static Fail2BanReply decode(byte[] pickle) {
        Object o;
        try {
            o = new LenientUnpickler().loads(pickle);
        } catch (Exception | StackOverflowError e) {
            return new Fail2BanReply(Fail2BanReply.Kind.GARBAGE, null,
                    "unreadable reply (" + pickle.length + " bytes): " + e.getClass().getSimpleName()
                            + (e.getMessage() == null ? "" : ": " + e.getMessage()));
        }
        return interpret(o);
    }

    static Fail2BanReply interpret(Object o) {
        if (o instanceof String s) {
            return new Fail2BanReply(Fail2BanReply.Kind.PROTOCOL_ERROR, null, "server said: " + s);
        }
        Object[] pair = null;
        if (o instanceof Object[] a) {
            pair = a;
        } else if (o instanceof List<?> l) {
            pair = l.toArray();
        }
        if (pair != null && pair.length == 2 && pair[0] instanceof Number code) {
            if (code.intValue() == 0) {
                return Fail2BanReply.ok(pair[1]);
            }
            String what = pair[1] instanceof PythonObject p ? p.toString() : String.valueOf(pair[1]);
            return new Fail2BanReply(Fail2BanReply.Kind.FAILED, null, "command failed: " + what);
        }
        String shown = String.valueOf(o);
        if (shown.length() > 200) {
            shown = shown.substring(0, 200) + "...";
        }
        return new Fail2BanReply(Fail2BanReply.Kind.GARBAGE, null, "unexpected reply: " + shown);
    }
}
