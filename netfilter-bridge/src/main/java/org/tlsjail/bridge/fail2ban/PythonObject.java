package org.tlsjail.bridge.fail2ban;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An instance of a Python class this side does not know (a Fail2Ban exception such as
 * {@code fail2ban.exceptions.UnknownJailException('nojail')}), kept as its class name and the
 * arguments it was built from instead of failing the whole reply.
 */
final class PythonObject {
    private final String module;
    private final String name;
    private final List<Object> args;
    private final Map<String, Object> state = new HashMap<>();

    PythonObject(String module, String name, Object[] args) {
        this.module = module;
        this.name = name;
        this.args = args == null ? List.of() : Arrays.asList(args.clone());
    }

    String className() {
        return module + "." + name;
    }

    /** The BUILD opcode's state (an attribute dict, or a (dict, slots) tuple); only kept. */
    void state(Object value) {
        if (value instanceof Map<?, ?> m) {
            m.forEach((k, v) -> state.put(String.valueOf(k), v));
        } else if (value instanceof Object[] a) {
            for (Object part : a) {
                state(part);
            }
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(name).append('(');
        for (int i = 0; i < args.size(); i++) {
            if (i > 0) {
                sb.append(", ");
            }
            Object a = args.get(i);
            sb.append(a instanceof String ? "'" + a + "'" : String.valueOf(a));
        }
        return sb.append(')').toString();
    }
}
