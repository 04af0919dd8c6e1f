package org.tlsjail.bridge.fail2ban;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The Fail2Ban bridge's settings, one component per YAML key under {@code bridge.fail2ban}.
 *
 * @param socket            {@code bridge.fail2ban.socket}: the server's unix socket
 * @param jail              {@code bridge.fail2ban.jail}: the jail bans go to
 * @param mode              {@code bridge.fail2ban.mode}: banip (tlsjail decides) or attempt
 * @param timeout           {@code bridge.fail2ban.timeout}: connect/read timeout of one request
 * @param retryMin          {@code bridge.fail2ban.retry-min}: first wait after a failure
 * @param retryMax          {@code bridge.fail2ban.retry-max}: longest wait between retries
 * @param maxPending        {@code bridge.fail2ban.max-pending}: addresses queued at most
 * @param reconcileInterval {@code bridge.fail2ban.reconcile-interval}: how often the jail is checked
 *                          for every active ban (it may have expired a ban tlsjail still holds)
 */
public record Fail2BanBridgeConfig(Path socket, String jail, Fail2BanMode mode, Duration timeout,
                                   Duration retryMin, Duration retryMax, int maxPending,
                                   Duration reconcileInterval) {

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
        positive(timeout, "bridge.fail2ban.timeout");
        positive(retryMin, "bridge.fail2ban.retry-min");
        positive(retryMax, "bridge.fail2ban.retry-max");
        if (retryMax.compareTo(retryMin) < 0) {
            throw new IllegalArgumentException("bridge.fail2ban.retry-max (" + retryMax
                    + ") must not be shorter than bridge.fail2ban.retry-min (" + retryMin + ")");
        }
        if (maxPending < 1 || maxPending > 10_000_000) {
            throw new IllegalArgumentException("bridge.fail2ban.max-pending must be 1..10000000, got " + maxPending);
        }
        positive(reconcileInterval, "bridge.fail2ban.reconcile-interval");
    }

    private static void positive(Duration d, String option) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(option + " must be a positive duration, got " + d);
        }
    }

    /** The defaults documented in the README (socket /var/run/fail2ban/fail2ban.sock, jail os4x, banip). */
    public static Fail2BanBridgeConfig defaults() {
        return new Fail2BanBridgeConfig(DEFAULT_SOCKET, DEFAULT_JAIL, Fail2BanMode.BANIP, Duration.ofSeconds(5),
                Duration.ofSeconds(1), Duration.ofSeconds(60), 100_000, Duration.ofMinutes(5));
    }

    public Fail2BanBridgeConfig withSocket(Path value) {
        return new Fail2BanBridgeConfig(value, jail, mode, timeout, retryMin, retryMax, maxPending, reconcileInterval);
    }

    public Fail2BanBridgeConfig withJail(String value) {
        return new Fail2BanBridgeConfig(socket, value, mode, timeout, retryMin, retryMax, maxPending, reconcileInterval);
    }

    public Fail2BanBridgeConfig withMode(Fail2BanMode value) {
        return new Fail2BanBridgeConfig(socket, jail, value, timeout, retryMin, retryMax, maxPending, reconcileInterval);
    }

    public Fail2BanBridgeConfig withTimeout(Duration value) {
        return new Fail2BanBridgeConfig(socket, jail, mode, value, retryMin, retryMax, maxPending, reconcileInterval);
    }

    public Fail2BanBridgeConfig withRetry(Duration min, Duration max) {
        return new Fail2BanBridgeConfig(socket, jail, mode, timeout, min, max, maxPending, reconcileInterval);
    }

    public Fail2BanBridgeConfig withMaxPending(int value) {
        return new Fail2BanBridgeConfig(socket, jail, mode, timeout, retryMin, retryMax, value, reconcileInterval);
    }

    public Fail2BanBridgeConfig withReconcileInterval(Duration value) {
        return new Fail2BanBridgeConfig(socket, jail, mode, timeout, retryMin, retryMax, maxPending, value);
    }
}
