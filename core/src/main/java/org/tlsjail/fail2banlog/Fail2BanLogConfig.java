package org.tlsjail.fail2banlog;

import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.ZoneId;
import java.util.Objects;
import java.util.Set;

/**
 * Settings of the Fail2Ban log.
 *
 * @param file          absolute path of the log file
 * @param mode          permissions of a newly created file (default rw-r----- = 0640)
 * @param dated         true (default): append {@code " [2026-11-30T06:41:58.123+01:00]"} to each line
 *                      so Fail2Ban takes the time from the line; false: the exact undated OS4X form
 * @param zone          time zone of the timestamps
 * @param queueCapacity lines that may wait for the writer thread before new ones are dropped
 */
public record Fail2BanLogConfig(Path file, Set<PosixFilePermission> mode, boolean dated, ZoneId zone, int queueCapacity) {
    public static final Set<PosixFilePermission> DEFAULT_MODE = PosixFilePermissions.fromString("rw-r-----");

    public Fail2BanLogConfig {
        Objects.requireNonNull(file, "fail2ban-log.file");
        mode = Set.copyOf(mode);
        Objects.requireNonNull(zone, "fail2ban-log.zone");
        if (queueCapacity < 1) {
            throw new IllegalArgumentException("fail2ban-log.queue-capacity must be at least 1, got " + queueCapacity);
        }
    }

    /** Dated lines, mode 0640, system time zone, 10 000 queued lines. */
    public static Fail2BanLogConfig of(Path file) {
        return new Fail2BanLogConfig(file, DEFAULT_MODE, true, ZoneId.systemDefault(), 10_000);
    }

    /** Parses an octal mode such as {@code 0640} or {@code 640}. */
    public static Set<PosixFilePermission> parseMode(String octal) {
        String s = octal.strip();
        if (!s.matches("0?[0-7]{3}")) {
            throw new IllegalArgumentException("fail2ban-log.mode: not an octal file mode: '" + octal + "'");
        }
        int m = Integer.parseInt(s, 8);
        StringBuilder sb = new StringBuilder();
        String rwx = "rwx";
        for (int i = 8; i >= 0; i--) {
            sb.append((m & (1 << i)) != 0 ? rwx.charAt((8 - i) % 3) : '-');
        }
        return PosixFilePermissions.fromString(sb.toString());
    }

    public Fail2BanLogConfig withDated(boolean d) {
        return new Fail2BanLogConfig(file, mode, d, zone, queueCapacity);
    }

    public Fail2BanLogConfig withMode(Set<PosixFilePermission> m) {
        return new Fail2BanLogConfig(file, m, dated, zone, queueCapacity);
    }

    public Fail2BanLogConfig withZone(ZoneId z) {
        return new Fail2BanLogConfig(file, mode, dated, z, queueCapacity);
    }

    public Fail2BanLogConfig withQueueCapacity(int c) {
        return new Fail2BanLogConfig(file, mode, dated, zone, c);
    }
}
