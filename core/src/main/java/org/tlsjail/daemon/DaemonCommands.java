package org.tlsjail.daemon;

import org.tlsjail.control.ControlProtocol;
import org.tlsjail.control.ControlServer;
import java.time.Duration;
import java.util.List;
import org.tlsjail.banengine.FailDuration;

/** Turns control-socket requests into daemon operations; every argument is validated here again. */
final class DaemonCommands implements ControlServer.Commands {
    private final Daemon daemon;

    DaemonCommands(Daemon daemon) {
        this.daemon = daemon;
    }

    @Override
    public ControlProtocol.Reply handle(List<String> w) {
        String cmd = w.get(0);
        int args = w.size() - 1;
        if (!daemon.isStarted() && !cmd.equals("stop")) {
            // the control socket opens first (it guards the state-dir); the rest follows
            return ControlProtocol.Reply.error("tlsjail is still starting; try again in a moment");
        }
        try {
            switch (cmd) {
                case "status":
                    return noArgs(args, () -> ControlProtocol.Reply.ok(daemon.status()));
                case "banned":
                    return noArgs(args, () -> ControlProtocol.Reply.ok(BanListing.text(daemon.banned(), daemon::originOf)));
                case "banned-json":
                    return noArgs(args, () -> ControlProtocol.Reply.ok(BanListing.json(daemon.banned(), daemon::originOf)));
                case "ban":
                    return ban(w);
                case "unban":
                    return unban(w);
                case "unban-all":
                    return noArgs(args, () -> ControlProtocol.Reply.ok("unbanned " + daemon.unbanAll() + " source(s)"));
                case "reload":
                    return noArgs(args, () -> {
                        Daemon.ReloadResult r = daemon.reload();
                        return r.ok() ? ControlProtocol.Reply.ok(r.message())
                                : ControlProtocol.Reply.error("reload refused, running configuration unchanged: " + r.message());
                    });
                case "reopen-log":
                    return noArgs(args, () -> {
                        Daemon.ReloadResult r = daemon.reopenLog();
                        return r.ok() ? ControlProtocol.Reply.ok(r.message())
                                : ControlProtocol.Reply.error("Fail2Ban log not reopened: " + r.message());
                    });
                case "stop":
                    return noArgs(args, () -> {
                        daemon.requestStop();
                        return ControlProtocol.Reply.ok("stopping");
                    });
                default:
                    return ControlProtocol.Reply.error("unknown command '" + YamlSafe.of(cmd) + "'");
            }
        } catch (IllegalArgumentException e) {
            return ControlProtocol.Reply.error(e.getMessage());
        }
    }

    /** {@code ban [--for DURATION] TARGET...}: every target is checked before anything is banned. */
    private ControlProtocol.Reply ban(List<String> w) {
        int first = 1;
        Duration d = null;
        if (w.size() > 2 && w.get(1).equals("--for")) {
            d = FailDuration.parse(w.get(2), "--for");
            first = 3;
        }
        if (w.size() <= first) {
            return ControlProtocol.Reply.error("usage: ban [--for DURATION] ADDRESS|CIDR...");
        }
        ManualBans manual = daemon.manualBans();
        List<ManualBans.Target> targets = manual.parse(w.subList(first, w.size()));
        return ControlProtocol.Reply.ok(manual.ban(targets, d));
    }

    /** {@code unban [--report-absent] TARGET...}: not banned is success unless --report-absent. */
    private ControlProtocol.Reply unban(List<String> w) {
        int first = 1;
        boolean reportAbsent = w.size() > 1 && w.get(1).equals("--report-absent");
        if (reportAbsent) {
            first = 2;
        }
        if (w.size() <= first) {
            return ControlProtocol.Reply.error("usage: unban [--report-absent] ADDRESS|CIDR...");
        }
        ManualBans manual = daemon.manualBans();
        ManualBans.UnbanResult r = manual.unban(manual.parse(w.subList(first, w.size())));
        if (reportAbsent && !r.absent().isEmpty()) {
            return ControlProtocol.Reply.error("not banned: " + r.absent().stream().map(YamlSafe::of)
                    .collect(java.util.stream.Collectors.joining(", ")));
        }
        return ControlProtocol.Reply.ok(r.text());
    }

    private static ControlProtocol.Reply noArgs(int args, java.util.function.Supplier<ControlProtocol.Reply> r) {
        return args == 0 ? r.get() : ControlProtocol.Reply.error("this command takes no arguments");
    }

    /** Echoed client text: short and printable. */
    static final class YamlSafe {
        private YamlSafe() {
        }

        static String of(String s) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < s.length() && sb.length() < 80; i++) {
                char c = s.charAt(i);
                sb.append(c >= 0x20 && c < 0x7f ? c : '?');
            }
            return sb.toString();
        }
    }
}
