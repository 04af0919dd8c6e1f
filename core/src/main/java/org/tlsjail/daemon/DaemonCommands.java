package org.tlsjail.daemon;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import org.tlsjail.banengine.Addresses;
import org.tlsjail.banengine.BanRecord;
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
                    if (args != 1) {
                        return ControlProtocol.Reply.error("usage: unban ADDRESS");
                    }
                    return daemon.unban(w.get(1))
                            ? ControlProtocol.Reply.ok("unbanned " + w.get(1))
                            : ControlProtocol.Reply.error(YamlSafe.of(w.get(1)) + " is not banned");
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

    private ControlProtocol.Reply ban(List<String> w) {
        if (w.size() < 2 || w.size() > 3) {
            return ControlProtocol.Reply.error("usage: ban ADDRESS [DURATION]");
        }
        InetAddress address;
        try {
            address = Addresses.parseLiteral(w.get(1));
        } catch (IllegalArgumentException e) {
            return ControlProtocol.Reply.error("'" + YamlSafe.of(w.get(1)) + "' is not an IP address");
        }
        Duration d = w.size() == 3 ? FailDuration.parse(w.get(2), "--for") : null;
        BanRecord r = daemon.ban(address, d);
        return ControlProtocol.Reply.ok("banned " + r.key() + (r.isPermanent() ? " permanently" : " until " + r.until()));
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
