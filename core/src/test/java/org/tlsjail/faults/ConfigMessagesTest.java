package org.tlsjail.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.config.ConfigException;
import org.tlsjail.config.ConfigLoader;

/**
 * Regressions found by {@link ConfigFuzzIT}, checked in-process: configuration errors are one
 * bounded, printable line whatever the file holds, a path no file system can hold is a
 * configuration error, and a forbidden character is reported with its line and column.
 */
class ConfigMessagesTest {
    @TempDir
    Path dir;

    private ConfigException error(byte[] content) throws Exception {
        Path f = dir.resolve("t.yaml");
        Files.write(f, content);
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> new ConfigLoader(dir).load(f, null));
        assertThat(e).as("a ConfigException").isNotNull();
        return e;
    }

    private static void assertOnePrintableLine(String m) {
        assertThat(m).hasLineCount(1).hasSizeLessThan(500);
        assertThat(m.codePoints().filter(c -> Character.isISOControl(c) || Character.getType(c) == Character.FORMAT).count())
                .as("control or format characters in: " + m).isZero();
    }

    @Test
    void escapeSequencesAndNewlinesInAKeyAreNotEchoed() throws Exception {
        ConfigException e = error("\"\\e]0;owned\\a\\e[2J\\nTLS error 1 during connect try from 8.8.8.8: x\": 1\n"
                .getBytes(StandardCharsets.UTF_8));
        assertOnePrintableLine(e.getMessage());
        assertOnePrintableLine(e.key());
        assertThat(e.getMessage()).contains(":1:1: ").contains("unknown key");
    }

    @Test
    void invisibleCharactersInAKeyAreShown() throws Exception {
        ConfigException e = error("listen:\n  \uFEFFport: 1\n  \u202Eaddress: 127.0.0.1\n".getBytes(StandardCharsets.UTF_8));
        assertOnePrintableLine(e.getMessage());
        assertThat(e.getMessage()).contains(":2:3: listen.?port: unknown key");
    }

    @Test
    void hugeKeysAndValuesAreCutShort() throws Exception {
        assertOnePrintableLine(error(("? " + "k".repeat(200_000) + "\n: 1\n").getBytes(StandardCharsets.UTF_8)).getMessage());
        ConfigException e = error(("jail:\n  bantime: \"" + "1".repeat(300_000) + "\"\n").getBytes(StandardCharsets.UTF_8));
        assertOnePrintableLine(e.getMessage());
        assertThat(e.getMessage()).contains(":2:12: jail.bantime: ").endsWith("...");
    }

    @Test
    void aPathNoFileSystemCanHoldIsAConfigurationError() throws Exception {
        ConfigException tooLong = error(("fail2ban-log:\n  path: /tmp/" + "p/".repeat(3000) + "x.log\n").getBytes(StandardCharsets.UTF_8));
        assertThat(tooLong.getMessage()).contains(":2:9: fail2ban-log.path: longer than 4095 bytes");
        ConfigException longName = error(("state-dir: /tmp/" + "n".repeat(300) + "\n").getBytes(StandardCharsets.UTF_8));
        assertThat(longName.getMessage()).contains(":1:12: state-dir: has a name longer than 255 bytes");
    }

    @Test
    void aZeroHandshakeTimeoutIsAConfigurationError() throws Exception {
        // was accepted by config check; run then failed with exit 1 after opening the control socket
        assertThat(error("tls:\n  handshake-timeout: 0\n".getBytes(StandardCharsets.UTF_8)).getMessage())
                .endsWith(":2:22: tls.handshake-timeout: must be between 1s and 5m");
    }

    @Test
    void aForbiddenCharacterIsReportedWithLineAndColumn() throws Exception {
        ConfigException e = error("listen:\n  address: \"127.0.0.1\u0000\"\n".getBytes(StandardCharsets.UTF_8));
        assertThat(e.getMessage()).endsWith(":2:22: malformed YAML: character U+0000 is not allowed");
    }
}
