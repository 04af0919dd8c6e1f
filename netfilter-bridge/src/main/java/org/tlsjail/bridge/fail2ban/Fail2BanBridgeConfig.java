package org.tlsjail.bridge.fail2ban;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
import org.tlsjail.bridge.QueueSettings;

/**
 * The Fail2Ban bridge's settings, one component per YAML key under {@code bridge.fail2ban}.
 * Immutable and checked when built, so a configuration that holds one needs no further check.
 *
 * @param socket {@code bridge.fail2ban.socket}: the server's unix socket
 * @param jail   {@code bridge.fail2ban.jail}: the jail bans go to
 * @param mode   {@code bridge.fail2ban.mode}: banip (tlsjail decides) or attempt
 * @param queue  {@code timeout} (connect/read timeout of one request), {@code retry-min},
 *               {@code retry-max}, {@code max-pending} and {@code reconcile-interval} (how often the
 *               jail is checked for every active ban: it may have expired a ban tlsjail still holds)
 */
public record Fail2BanBridgeConfig(Path socket, String jail, Fail2BanMode mode, QueueSettings queue) {

    public static final String SECTION = "bridge.fail2ban";
    public static final Path DEFAULT_SOCKET = Path.of("/var/run/fail2ban/fail2ban.sock");
    public static final String DEFAULT_JAIL = "os4x";
    /** Jail names as Fail2Ban's own configs use them; nothing else can reach the server. */
    private static final Pattern JAIL_NAME = Pattern.compile("[A-Za-z0-9_.@-]{1,64}");

    public Fail2BanBridgeConfig {
        Objects.requireNonNull(socket, "bridge.fail2ban.socket");
        if (socket.toString().isBlank()) {
            throw new IllegalArgumentException("bridge.fail2ban.socket must not be empty");
        }
        if (jail == null || !JAIL_NAME.matcher(jail).matches()) {
            throw new IllegalArgumentException("bridge.fail2ban.jail: expected a jail name of 1-64 letters, "
                    + "digits, '_', '.', '@' or '-', got '" + jail + "'");
        }
        Objects.requireNonNull(mode, "bridge.fail2ban.mode");
        QueueSettings.requireFor(queue, SECTION);
    }

    /** The defaults documented in the README (socket /var/run/fail2ban/fail2ban.sock, jail os4x, banip). */
    public static Fail2BanBridgeConfig defaults() {
        return new Fail2BanBridgeConfig(DEFAULT_SOCKET, DEFAULT_JAIL, Fail2BanMode.BANIP, new QueueSettings(SECTION,
                Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofSeconds(60), 100_000, Duration.ofMinutes(5)));
    }

    public Fail2BanBridgeConfig withSocket(Path value) {
        return new Fail2BanBridgeConfig(value, jail, mode, queue);
    }

    public Fail2BanBridgeConfig withJail(String value) {
        return new Fail2BanBridgeConfig(socket, value, mode, queue);
    }

    public Fail2BanBridgeConfig withMode(Fail2BanMode value) {
        return new Fail2BanBridgeConfig(socket, jail, value, queue);
    }

    public Fail2BanBridgeConfig withQueue(UnaryOperator<QueueSettings> change) {
        return new Fail2BanBridgeConfig(socket, jail, mode, change.apply(queue));
    }
}
