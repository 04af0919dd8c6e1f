package org.tlsjail.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The package's configuration files are conf/'s with the package's paths: every setting line is
 * the same (comments may differ), so a change to a default or to the unit's hardening in conf/
 * cannot silently miss the package.
 */
class PackagedFilesTest {
    /** conf/ lines -> the package's, where the install layout differs (and /opt/tlsjail/bin/tlsjail -> /usr/bin/tlsjail). */
    private static final Map<String, String> LAYOUT = Map.of(
            "Documentation=file:///opt/tlsjail/README.md", "Documentation=file:///usr/share/doc/tlsjail/README.md",
            "ExecStartPre=/opt/tlsjail/bin/tlsjail config check --config /etc/tlsjail/tlsjail.yaml",
            "ExecCondition=/usr/share/tlsjail/bin/tlsjail-configured /etc/tlsjail/tlsjail.yaml");

    @ParameterizedTest
    @CsvSource({
        "conf/tlsjail.yaml,                packaging/src/deb/etc/tlsjail.yaml",
        "conf/systemd/tlsjail.service,     packaging/src/deb/systemd/tlsjail.service",
        "conf/logrotate.d/tlsjail,         packaging/src/deb/etc/logrotate",
        "conf/fail2ban/jail.d/os4x.conf,   packaging/src/deb/examples/jail-os4x.conf",
    })
    void settingsAreConfsWithThePackagesPaths(String conf, String packaged) throws Exception {
        Path root = Path.of(System.getProperty("user.dir")).getParent(); // surefire runs in packaging/
        List<String> expected = settings(root.resolve(conf)).stream().map(PackagedFilesTest::toLayout).toList();
        assertThat(settings(root.resolve(packaged))).as("%s drifted from %s: change both", packaged, conf)
                .containsExactlyElementsOf(expected);
    }

    private static List<String> settings(Path file) throws Exception {
        return Files.readAllLines(file).stream().filter(l -> !l.isBlank() && !l.strip().startsWith("#")).toList();
    }

    private static String toLayout(String line) {
        String exact = LAYOUT.get(line);
        if (exact != null) {
            return exact;
        }
        return line.replace("/opt/tlsjail/bin/tlsjail", "/usr/bin/tlsjail");
    }
}
