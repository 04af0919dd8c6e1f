package org.tlsjail.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A test's YAML written to {@code tlsjail.yaml} in its directory and loaded as the daemon loads it. */
final class TestConfigFiles {
    private TestConfigFiles() {
    }

    static TlsjailConfig load(Path dir, String yaml) throws ConfigException, IOException {
        return new ConfigLoader(dir).load(Files.writeString(dir.resolve("tlsjail.yaml"), yaml), null);
    }

    /** The exception the loader refuses {@code yaml} with; an error if it accepts it. */
    static ConfigException refusal(Path dir, String yaml) {
        try {
            load(dir, yaml);
        } catch (ConfigException e) {
            return e;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("expected a ConfigException for:\n" + yaml);
    }
}
