package org.tlsjail.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.tlsjail.banengine.FailDuration;
import org.tlsjail.config.ConfigException;
import org.tlsjail.config.ConfigLoader;
import org.tlsjail.config.ConfigYaml;
import org.tlsjail.config.TlsjailConfig;
import org.tlsjail.control.ControlProtocol;
import org.tlsjail.daemon.Daemon;
import org.tlsjail.daemon.StartupException;
import org.tlsjail.daemon.TlsMaterial;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code tlsjail}: runs the daemon and talks to a running one, in the manner of fail2ban-client.
 * Exit status: 0 success, 1 the daemon refused or failed the request, 2 bad usage or an invalid
 * configuration, 3 the daemon is not running.
 */
@Command(name = "tlsjail", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT,
        versionProvider = Main.Version.class,
        description = "A TLS listener with a built-in, Fail2Ban-compatible ban engine.",
        subcommands = {Main.Run.class, Main.ConfigCommand.class, Main.Status.class, Main.Banned.class,
                Main.Ban.class, Main.Unban.class, Main.Reload.class, Main.ReopenLog.class, Main.Stop.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;
    static final int NOT_RUNNING = 3;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /**
     * Bouncy Castle JSSE reports through java.util.logging, at INFO, things every start does
     * (security properties found); keep the operational log for tlsjail's own messages unless
     * the operator configured JUL explicitly. Held in a field: JUL keeps loggers weakly.
     */
    private static final class Jul {
        /** Loaded only when picocli runs: the quick client path needs no logging at all. */
        static final java.util.logging.Logger BOUNCY_CASTLE = java.util.logging.Logger.getLogger("org.bouncycastle");
    }

    public static void main(String[] args) {
        // status, banned, ban, unban with plain arguments: answered without building picocli's
        // model (a quarter of a second), as fast as fail2ban-client answers
        java.util.OptionalInt fast = FastClient.run(args);
        if (fast.isPresent()) {
            System.exit(fast.getAsInt());
        }
        if (System.getProperty("java.util.logging.config.file") == null) {
            Jul.BOUNCY_CASTLE.setLevel(java.util.logging.Level.SEVERE);
        }
        System.exit(execute(args));
    }

    static int execute(String... args) {
        CommandLine cl = new CommandLine(new Main());
        // picocli's ParameterException is a usage error (unknown option or command, missing
        // argument): 2, as documented, like an invalid configuration.
        cl.setExitCodeExceptionMapper(e -> e instanceof CommandLine.ParameterException ? USAGE : FAILED);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("tlsjail: " + e.getMessage());
            return FAILED;
        });
        return cl.execute(args);
    }

    @Override
    public void run() {
        // picocli prints the message and the usage once, exit 2
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command (try: tlsjail run)");
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"tlsjail " + (v == null ? "(development build)" : v)};
        }
    }

    /** {@code --config} and {@code --state-dir}: how every command finds the configuration and the socket. */
    static final class ConfigOptions {
        @Option(names = {"-c", "--config"}, paramLabel = "FILE",
                description = "YAML configuration (default: $TLSJAIL_CONFIG, else /etc/tlsjail/tlsjail.yaml if it"
                        + " exists, else the embedded default: 127.0.0.1:6619 with a demo PKI)")
        Path config;

        @Option(names = "--state-dir", paramLabel = "DIR",
                description = "state directory, overriding state-dir in the configuration (default ./tlsjail-state)")
        Path stateDir;

        TlsjailConfig load() throws ConfigException {
            return new ConfigLoader(Path.of("")).load(file(), stateDir);
        }

        /** The file every command reads: --config, $TLSJAIL_CONFIG, the installed one, or null. */
        private Path file() {
            return ConfigLocation.resolve(config, System.getenv(ConfigLocation.ENV), ConfigLocation.INSTALLED);
        }

        /** The control socket, read cheaply; a full load (and its exit-2 message) only when that fails. */
        Path controlSocket() throws ConfigException {
            java.util.Optional<Path> quick = org.tlsjail.config.ControlSocketPath.find(Path.of(""), file(), stateDir);
            return quick.isPresent() ? quick.get() : load().controlSocket();
        }
    }

    /** Shared by the client commands: load the config (exit 2 if invalid), send, print. */
    abstract static class ClientCommand implements Callable<Integer> {
        @Mixin
        ConfigOptions options;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        abstract List<String> request();

        int timeoutMillis() {
            return 15_000;
        }

        void print(PrintWriter out, String body) {
            out.print(body);
        }

        /**
         * Whether the whole configuration is validated first (reload: the daemon would refuse an
         * invalid file anyway, better say where); the others only need the socket.
         */
        boolean validatesConfig() {
            return false;
        }

        /** The requests to send, in order; several when the arguments do not fit in one. */
        List<List<String>> requests() {
            return List.of(request());
        }

        @Override
        public Integer call() {
            return execute(spec.commandLine().getOut(), spec.commandLine().getErr());
        }

        /** The command itself, also run by {@link FastClient} without picocli. */
        int execute(PrintWriter out, PrintWriter err) {
            Path socket;
            try {
                socket = validatesConfig() ? options.load().controlSocket() : options.controlSocket();
            } catch (ConfigException e) {
                err.println("tlsjail: " + e.getMessage());
                return USAGE;
            }
            List<List<String>> requests;
            try {
                requests = requests();
            } catch (IllegalArgumentException e) {
                err.println("tlsjail: " + e.getMessage());
                return USAGE;
            }
            try {
                for (List<String> words : requests) {
                    ControlProtocol.Reply reply = new ControlClient(socket).send(words, timeoutMillis());
                    String body = ControlClient.forTerminal(reply.body());
                    if (!reply.ok()) {
                        out.flush();
                        err.println("tlsjail: " + body);
                        return FAILED;
                    }
                    print(out, body);
                }
                out.flush();
                return OK;
            } catch (ControlClient.NotRunningException e) {
                err.println("tlsjail: " + e.getMessage());
                return NOT_RUNNING;
            } catch (IOException | IllegalArgumentException e) {
                err.println("tlsjail: " + e.getMessage());
                return FAILED;
            }
        }
    }

    @Command(name = "run", description = "Run the daemon in the foreground (systemd: Type=notify).")
    static final class Run implements Callable<Integer> {
        @Mixin
        ConfigOptions options;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter err = spec.commandLine().getErr();
            TlsjailConfig config;
            try {
                config = options.load();
            } catch (ConfigException e) {
                err.println("tlsjail: " + e.getMessage());
                return USAGE;
            }
            try {
                Daemon daemon = Daemon.start(config, () -> options.load(), System.out);
                daemon.awaitStop();
                return OK;
            } catch (StartupException e) {
                err.println("tlsjail: " + e.getMessage());
                err.flush();
                // exit 2 = "don't restart" for systemd (RestartPreventExitStatus): a wrong configuration,
                // a file it names or an unsafe file or directory stays wrong until the operator acts
                return e.restartWillNotHelp() ? USAGE : FAILED;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return FAILED;
            }
        }
    }

    @Command(name = "config", description = "Check or print the configuration.",
            subcommands = {ConfigCheck.class, ConfigShow.class})
    static final class ConfigCommand implements Runnable {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand: check or show");
        }
    }

    @Command(name = "check", description = "Validate the configuration; exit 2 with file:line:column if invalid.")
    static final class ConfigCheck implements Callable<Integer> {
        @Mixin
        ConfigOptions options;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            try {
                TlsjailConfig c = options.load();
                // the TLS files too, so systemd's ExecStartPre catches what run would fail on
                TlsMaterial.check(c);
                for (String w : org.tlsjail.config.ConfigWarnings.of(c)) {
                    spec.commandLine().getErr().println("tlsjail: warning: " + w);
                }
                spec.commandLine().getOut().println(c.sourceName() + ": OK");
                return OK;
            } catch (ConfigException e) {
                spec.commandLine().getErr().println("tlsjail: " + e.getMessage());
                return USAGE;
            } catch (StartupException e) {
                spec.commandLine().getErr().println("tlsjail: " + e.getMessage());
                return USAGE;
            }
        }
    }

    @Command(name = "show", description = "Print the effective configuration, defaults filled in, as YAML.")
    static final class ConfigShow implements Callable<Integer> {
        @Mixin
        ConfigOptions options;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            try {
                PrintWriter out = spec.commandLine().getOut();
                out.print(ConfigYaml.render(options.load()));
                out.flush();
                return OK;
            } catch (ConfigException e) {
                spec.commandLine().getErr().println("tlsjail: " + e.getMessage());
                return USAGE;
            }
        }
    }

    @Command(name = "status", description = "Show listener, jail and ban counters.")
    static final class Status extends ClientCommand {
        @Override
        List<String> request() {
            return List.of("status");
        }
    }

    @Command(name = "banned", description = "List the banned sources (address or prefix, since, until, count, reason).")
    static final class Banned extends ClientCommand {
        @Option(names = "--json", description = "print a JSON array")
        boolean json;

        @Override
        List<String> request() {
            return List.of(json ? "banned-json" : "banned");
        }
    }

    @Command(name = "ban", description = {"Ban sources now: IP addresses or CIDR blocks (never host names).",
            "A source that is already banned keeps its ban (exit 0): safe as a Fail2Ban actionban."})
    static final class Ban extends ClientCommand {
        @Parameters(paramLabel = "ADDRESS|CIDR", arity = "1..*")
        List<String> targets;

        @Option(names = "--for", paramLabel = "DURATION", description = "ban length (600, 10m, 1h, 1 hour 30 min, -1 = permanent; default: jail.bantime)")
        String duration;

        @Override
        List<String> request() {
            List<String> w = new ArrayList<>(List.of("ban"));
            if (duration != null) {
                // sent in tlsjail's own spelling: "1 hour 30 min" has spaces, the protocol's words none
                w.add("--for");
                w.add(FailDuration.format(FailDuration.parse(duration, "--for")));
            }
            w.addAll(checkTargets(targets));
            return w;
        }

        @Override
        List<List<String>> requests() {
            return chunked(request(), duration == null ? 1 : 3);
        }
    }

    /**
     * Splits {@code head... target...} into requests that each fit the control protocol's line
     * limit, repeating the head (the command and its options) in each.
     */
    static List<List<String>> chunked(List<String> words, int headSize) {
        List<String> head = words.subList(0, headSize);
        List<List<String>> out = new ArrayList<>();
        List<String> current = new ArrayList<>(head);
        int bytes = String.join(" ", head).length() + 1;
        for (String t : words.subList(headSize, words.size())) {
            if (current.size() > headSize && bytes + 1 + t.length() > ControlProtocol.MAX_REQUEST - 16) {
                out.add(current);
                current = new ArrayList<>(head);
                bytes = String.join(" ", head).length() + 1;
            }
            current.add(t);
            bytes += 1 + t.length();
        }
        out.add(current);
        return out;
    }

    /** Checked here too, so a typo is a usage error (2) before the daemon is asked. */
    static List<String> checkTargets(List<String> targets) {
        for (String t : targets) {
            try {
                org.tlsjail.banengine.SourceKey.parse(t);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("'" + t + "' is not an IP address or CIDR block"
                        + " (e.g. 192.0.2.7, 10.0.0.0/24, 2001:db8::/64)");
            }
        }
        return targets;
    }

    @Command(name = "unban", description = {"Lift the ban of each ADDRESS or CIDR block, or of every source with --all.",
            "A source that is not banned is reported and is no error (exit 0), unless --report-absent:",
            "safe as a Fail2Ban actionunban."})
    static final class Unban extends ClientCommand {
        @Parameters(paramLabel = "ADDRESS|CIDR", arity = "0..*")
        List<String> targets = new ArrayList<>();

        @Option(names = "--all", description = "unban every source")
        boolean all;

        @Option(names = "--report-absent", description = "exit 1 if a given source was not banned (as fail2ban-client's unbanip --report-absent)")
        boolean reportAbsent;

        @Override
        List<String> request() {
            if (all == !targets.isEmpty()) {
                throw new IllegalArgumentException("give either ADDRESS|CIDR... or --all");
            }
            if (all) {
                return List.of("unban-all");
            }
            List<String> w = new ArrayList<>(List.of("unban"));
            if (reportAbsent) {
                w.add("--report-absent");
            }
            w.addAll(checkTargets(targets));
            return w;
        }

        @Override
        List<List<String>> requests() {
            List<String> w = request();
            return w.get(0).equals("unban-all") ? List.of(w) : chunked(w, reportAbsent ? 2 : 1);
        }
    }

    @Command(name = "reload", description = "Re-read the configuration file and apply it without dropping connections or bans.")
    static final class Reload extends ClientCommand {
        @Override
        List<String> request() {
            return List.of("reload");
        }

        @Override
        int timeoutMillis() {
            return 60_000;
        }

        @Override
        boolean validatesConfig() {
            return true;
        }
    }

    @Command(name = "reopen-log", description = "Reopen the Fail2Ban log (logrotate postrotate).")
    static final class ReopenLog extends ClientCommand {
        @Override
        List<String> request() {
            return List.of("reopen-log");
        }
    }

    @Command(name = "stop", description = "Stop the daemon (bans are kept in the state directory).")
    static final class Stop extends ClientCommand {
        @Override
        List<String> request() {
            return List.of("stop");
        }
    }
}
