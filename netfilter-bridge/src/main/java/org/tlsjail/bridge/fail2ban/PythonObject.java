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

    String simpleName() {
        return name;
    }

    List<Object> args() {
        return args;
    }

    /** Called reflectively by the unpickler for the BUILD opcode; the state is only kept. */
    public void __setstate__(HashMap<String, Object> values) {
        if (values != null) {
            state.putAll(values);
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
