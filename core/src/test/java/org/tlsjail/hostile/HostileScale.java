package org.tlsjail.hostile;

import java.util.Locale;

/**
 * Sizes of the hostile suite. CI runs the default ("ci") sizes so the suite stays within a few
 * minutes on two cores; {@code -Dtlsjail.hostile.scale=full} runs the documented full-size attack.
 */
record HostileScale(String name, int garbageConnections, int slowClients, int tcpSpraySources, int tcpSprayMaxTracked,
                    int engineSpraySources, int engineSprayMaxTracked) {

    static HostileScale current() {
        String s = System.getProperty("tlsjail.hostile.scale", "ci").trim().toLowerCase(Locale.ROOT);
        return switch (s) {
            case "full" -> new HostileScale("full", 300_000, 2_000, 1_050_000, 1_000_000, 2_000_000, 1_000_000);
            case "ci", "" -> new HostileScale("ci", 100_000, 2_000, 30_000, 10_000, 1_200_000, 1_000_000);
            default -> throw new IllegalArgumentException("tlsjail.hostile.scale: expected ci or full, got '" + s + "'");
        };
    }
}
