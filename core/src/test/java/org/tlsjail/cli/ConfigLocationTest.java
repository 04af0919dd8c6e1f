package org.tlsjail.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLocationTest {
    @TempDir
    Path dir;

    @Test
    void optionWinsOverEnvironmentWhichWinsOverTheInstalledFile() throws Exception {
        Path installed = Files.writeString(dir.resolve("tlsjail.yaml"), "");
        Path option = dir.resolve("option.yaml");
        assertThat(ConfigLocation.resolve(option, "/env.yaml", installed)).isEqualTo(option);
        assertThat(ConfigLocation.resolve(null, "/env.yaml", installed)).isEqualTo(Path.of("/env.yaml"));
        assertThat(ConfigLocation.resolve(null, null, installed)).isEqualTo(installed);
        assertThat(ConfigLocation.resolve(null, "", installed)).as("empty = unset").isEqualTo(installed);
    }

    @Test
    void withoutAnInstalledFileItIsTheEmbeddedDefault() throws Exception {
        Path installed = dir.resolve("tlsjail.yaml");
        assertThat(ConfigLocation.resolve(null, null, installed)).isNull();
        // a dangling link is no installed configuration
        Files.createSymbolicLink(installed, dir.resolve("gone.yaml"));
        assertThat(ConfigLocation.resolve(null, "", installed)).isNull();
    }

    @Test
    void anUnreadableInstalledFileIsStillChosenSoTheErrorNamesIt() throws Exception {
        Path installed = Files.writeString(dir.resolve("tlsjail.yaml"), "");
        Files.setPosixFilePermissions(installed, java.util.Set.of());
        assertThat(ConfigLocation.resolve(null, null, installed)).isEqualTo(installed);
    }
}
