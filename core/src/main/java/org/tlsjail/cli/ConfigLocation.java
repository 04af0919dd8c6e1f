package org.tlsjail.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Which configuration file a command reads, in fail2ban-client's manner: {@code --config} if
 * given, else {@code $TLSJAIL_CONFIG}, else the installed {@code /etc/tlsjail/tlsjail.yaml} if it
 * exists, else none (the embedded default). One environment read and at most one stat: every CLI
 * call pays for it.
 */
final class ConfigLocation {
    static final String ENV = "TLSJAIL_CONFIG";
    static final Path INSTALLED = Path.of("/etc/tlsjail/tlsjail.yaml");

    private ConfigLocation() {
    }

    /**
     * @param option    {@code --config}, or null
     * @param env       the value of {@code $TLSJAIL_CONFIG}, or null (empty counts as unset)
     * @param installed the package's configuration path
     * @return the file to read, or null for the embedded default
     */
    static Path resolve(Path option, String env, Path installed) {
        if (option != null) {
            return option;
        }
        if (env != null && !env.isEmpty()) {
            return Path.of(env);
        }
        // Exists, not isReadable: an installed file this user may not read must say so (exit 2
        // naming the file), not silently fall back to the demo default.
        return Files.exists(installed) ? installed : null;
    }
}
