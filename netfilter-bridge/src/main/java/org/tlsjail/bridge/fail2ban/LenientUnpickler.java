package org.tlsjail.bridge.fail2ban;

import java.io.IOException;
import net.razorvine.pickle.IObjectConstructor;
import net.razorvine.pickle.Opcodes;
import net.razorvine.pickle.PickleException;
import net.razorvine.pickle.PickleUtils;
import net.razorvine.pickle.Unpickler;

/**
 * An unpickler for Fail2Ban's replies that never executes or resolves Python classes.
 *
 * <p>razorvine's default turns an unknown class into a {@code ClassDict}, which fails as soon as
 * the class is built with arguments, and that is exactly how Fail2Ban sends its exceptions
 * ({@code UnknownJailException('nojail')}) and its addresses ({@code builtins.str('10.0.0.1')}, an
 * {@code IPAddr} reduced to its str base). So every global is resolved here instead: a
 * {@code builtins.str} becomes a String, anything else a {@link PythonObject}. The registry of
 * razorvine's own constructors (global, static state) is not touched.
 */
final class LenientUnpickler extends Unpickler {

    @Override
    protected Object dispatch(short key) throws PickleException, IOException {
        if (key == Opcodes.GLOBAL) {
            String module = PickleUtils.readline(input);
            String name = PickleUtils.readline(input);
            stack.add(constructor(module, name));
            return NO_RETURN_VALUE;
        }
        if (key == Opcodes.STACK_GLOBAL) {
            Object name = stack.pop();
            Object module = stack.pop();
            stack.add(constructor(String.valueOf(module), String.valueOf(name)));
            return NO_RETURN_VALUE;
        }
        if (key == Opcodes.BUILD && stack.size() >= 2) {
            // razorvine would call __setstate__ reflectively; the state of an unknown object is just kept
            Object state = stack.pop();
            if (stack.peek() instanceof PythonObject p) {
                p.state(state);
                return NO_RETURN_VALUE;
            }
            stack.add(state);
        }
        return super.dispatch(key);
    }

    private static IObjectConstructor constructor(String module, String name) {
        if (("builtins".equals(module) || "__builtin__".equals(module))
                && ("str".equals(name) || "unicode".equals(name))) {
            return args -> args.length == 0 ? "" : String.valueOf(args[0]);
        }
        return args -> new PythonObject(module, name, args);
    }
}
