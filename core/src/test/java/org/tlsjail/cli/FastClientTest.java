package org.tlsjail.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The quick path must mean exactly what picocli means, or decline: for each command line it
 * accepts, the requests sent and the socket looked up are the ones picocli's parse gives.
 */
class FastClientTest {
    @Test
    void acceptedCommandLinesMeanWhatPicocliMeans() {
        List<String[]> lines = List.of(
                new String[] {"status"},
                new String[] {"status", "--config", "x.yaml"},
                new String[] {"status", "-c", "x.yaml", "--state-dir", "st"},
                new String[] {"status", "--config=x.yaml", "--state-dir=st"},
                new String[] {"banned", "--json"},
                new String[] {"banned", "--state-dir", "st", "--json"},
                new String[] {"ban", "192.0.2.7"},
                new String[] {"ban", "192.0.2.7", "10.0.0.0/24", "--for", "1h", "-c", "x.yaml"},
                new String[] {"ban", "--for=-1", "2001:db8::1"},
                new String[] {"ban", "--for", "90", "192.0.2.7"},
                new String[] {"unban", "192.0.2.7", "192.0.2.8"},
                new String[] {"unban", "--report-absent", "192.0.2.7"},
                new String[] {"unban", "--all", "--state-dir", "st"});
        for (String[] args : lines) {
            Optional<Main.ClientCommand> fast = FastClient.parse(args);
            assertThat(fast).as(String.join(" ", args)).isPresent();
            Main.ClientCommand slow = picocli(args);
            assertThat(fast.get().getClass()).isEqualTo(slow.getClass());
            assertThat(fast.get().requests()).as(String.join(" ", args)).isEqualTo(slow.requests());
            assertThat(fast.get().options.config).isEqualTo(slow.options.config);
            assertThat(fast.get().options.stateDir).isEqualTo(slow.options.stateDir);
        }
    }

    @Test
    void declinesWhatOnlyPicocliShouldAnswer() {
        List<String[]> lines = List.of(
                new String[] {},
                new String[] {"run"},
                new String[] {"reload"},
                new String[] {"status", "--help"},
                new String[] {"status", "-h"},
                new String[] {"status", "extra"},
                new String[] {"status", "--bogus"},
                new String[] {"status", "--config"},
                new String[] {"status", "--config", "a", "--config", "b"},
                new String[] {"banned", "--json", "--json"},
                new String[] {"ban"},
                new String[] {"ban", "192.0.2.7", "--for"},
                new String[] {"ban", "192.0.2.7", "--for", "-1"},
                new String[] {"ban", "--json", "192.0.2.7"},
                new String[] {"unban", "--", "192.0.2.7"},
                new String[] {"status", "--config=", "x"},
                new String[] {"status", "--json=1"});
        for (String[] args : lines) {
            assertThat(FastClient.parse(args)).as(String.join(" ", args)).isEmpty();
        }
    }

    private static Main.ClientCommand picocli(String[] args) {
        CommandLine cl = new CommandLine(new Main());
        CommandLine.ParseResult r = cl.parseArgs(args);
        return (Main.ClientCommand) r.subcommand().commandSpec().userObject();
    }
}
