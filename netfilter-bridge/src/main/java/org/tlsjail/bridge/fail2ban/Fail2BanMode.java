package org.tlsjail.bridge.fail2ban;

import java.util.Locale;

/** Who decides a ban when tlsjail is bridged to Fail2Ban ({@code bridge.fail2ban.mode}). */
public enum Fail2BanMode {
    /** tlsjail decides; each ban and unban is mirrored with {@code set <jail> banip|unbanip}. */
    BANIP,
    /** Each failed handshake is reported with {@code set <jail> attempt}; the jail counts and bans. */
    ATTEMPT;

    /** Parses the YAML value ({@code banip} or {@code attempt}, case-insensitive). */
    public static Fail2BanMode parse(String text) {
        if (text != null) {
            for (Fail2BanMode m : values()) {
                if (m.name().equalsIgnoreCase(text.strip())) {
                    return m;
                }
            }
        }
        throw new IllegalArgumentException("bridge.fail2ban.mode: expected banip or attempt, got '" + text + "'");
    }

    /** The YAML spelling. */
    public String yamlName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
