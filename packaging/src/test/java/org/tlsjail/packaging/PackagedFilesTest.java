package org.tlsjail.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
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

    /**
     * Every action the package's example jail names (besides Fail2Ban's own %(...)s) is installed
     * by the package in /etc/fail2ban/action.d, from conf/ verbatim; otherwise copying the example
     * gives a jail Fail2Ban refuses to start.
     */
    @Test
    void theExampleJailsActionsAreShippedFromConf() throws Exception {
        Path root = Path.of(System.getProperty("user.dir")).getParent();
        List<String> jail = settings(root.resolve("packaging/src/deb/examples/jail-os4x.conf"));
        List<String> actions = new java.util.ArrayList<>();
        boolean inAction = false;
        for (String line : jail) {
            boolean continuation = Character.isWhitespace(line.charAt(0));
            if (!continuation) {
                inAction = line.startsWith("action ") || line.startsWith("action=");
                line = inAction ? line.substring(line.indexOf('=') + 1) : "";
            }
            String value = inAction ? line.strip() : "";
            if (!value.isEmpty() && !value.startsWith("%(")) {
                actions.add(value.replaceAll("\\[.*", "")); // name[option=value, ...] -> name
            }
        }
        assertThat(actions).as("the example jail bans in tlsjail too").contains("tlsjail");
        String pom = Files.readString(root.resolve("packaging/pom.xml"));
        for (String action : actions) {
            assertThat(root.resolve("conf/fail2ban/action.d/" + action + ".conf")).isRegularFile();
            Matcher data = Pattern.compile("<src>\\$\\{project.basedir}/../conf/fail2ban/action.d/" + Pattern.quote(action)
                    + "\\.conf</src>\\s*<type>file</type>\\s*<conffile>true</conffile>\\s*<mapper>\\s*<type>perm</type>"
                    + "\\s*<prefix>/etc/fail2ban/action.d</prefix>").matcher(pom);
            assertThat(data.find()).as("packaging/pom.xml installs conf/fail2ban/action.d/%s.conf as a conffile in /etc/fail2ban/action.d", action)
                    .isTrue();
        }
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
