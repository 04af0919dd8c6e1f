package org.tlsjail.cli;

import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.Charset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The CLI's quick path for the commands scripts and Fail2Ban actions call often ({@code status},
 * {@code banned}, {@code ban}, {@code unban}): their plain forms are recognised here and run
 * through the very same command objects, without picocli, whose model of every command costs
 * more than the rest of the call. Anything else (help, an unknown or repeated option, a missing
 * option value, {@code --}) is declined and goes through picocli, which parses and reports it.
 */
final class FastClient {
    private FastClient() {
    }

    /** The command's exit status, or empty when picocli must handle these arguments. */
    static OptionalInt run(String[] args) {
        Optional<Main.ClientCommand> cmd = parse(args);
        if (cmd.isEmpty()) {
            return OptionalInt.empty();
        }
        Charset cs = Charset.defaultCharset();
        PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, cs), true);
        PrintWriter err = new PrintWriter(new OutputStreamWriter(System.err, cs), true);
        int status = cmd.get().execute(out, err);
        out.flush();
        err.flush();
        return OptionalInt.of(status);
    }

    /** The command object picocli would have built from {@code args}, or empty. */
    static Optional<Main.ClientCommand> parse(String[] args) {
        try {
            return parseOrDecline(args);
        } catch (java.nio.file.InvalidPathException e) {
            return Optional.empty(); // picocli reports it
        }
    }

    private static Optional<Main.ClientCommand> parseOrDecline(String[] args) {
        if (args.length == 0) {
            return Optional.empty();
        }
        Main.ClientCommand cmd;
        switch (args[0]) {
            case "status": cmd = new Main.Status(); break;
            case "banned": cmd = new Main.Banned(); break;
            case "ban": cmd = new Main.Ban(); break;
            case "unban": cmd = new Main.Unban(); break;
            default: return Optional.empty();
        }
        cmd.options = new Main.ConfigOptions();
        Set<String> seen = new HashSet<>();
        List<String> positional = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("-") || a.equals("-")) {
                positional.add(a);
                continue;
            }
            String name = a;
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            }
            if (name.equals("-c")) {
                name = "--config";
            }
            if (!seen.add(name)) {
                return Optional.empty(); // picocli says "option should be specified only once"
            }
            boolean takesValue = name.equals("--config") || name.equals("--state-dir")
                    || (name.equals("--for") && cmd instanceof Main.Ban);
            if (takesValue && value == null) {
                if (i + 1 >= args.length || args[i + 1].startsWith("-")) {
                    return Optional.empty(); // missing value (or a negative --for such as -1): picocli decides
                }
                value = args[++i];
            } else if (!takesValue && value != null) {
                return Optional.empty();
            }
            if (value != null && value.isEmpty()) {
                return Optional.empty();
            }
            switch (name) {
                case "--config" -> cmd.options.config = Path.of(value);
                case "--state-dir" -> cmd.options.stateDir = Path.of(value);
                case "--for" -> ((Main.Ban) cmd).duration = value;
                case "--json" -> {
                    if (!(cmd instanceof Main.Banned b)) {
                        return Optional.empty();
                    }
                    b.json = true;
                }
                case "--all" -> {
                    if (!(cmd instanceof Main.Unban u)) {
                        return Optional.empty();
                    }
                    u.all = true;
                }
                case "--report-absent" -> {
                    if (!(cmd instanceof Main.Unban u)) {
                        return Optional.empty();
                    }
                    u.reportAbsent = true;
                }
                default -> {
                    return Optional.empty();
                }
            }
        }
        if (cmd instanceof Main.Ban b) {
            if (positional.isEmpty()) {
                return Optional.empty();
            }
            b.targets = positional;
        } else if (cmd instanceof Main.Unban u) {
            u.targets = positional;
        } else if (!positional.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(cmd);
    }
}
