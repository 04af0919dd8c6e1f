package org.tlsjail.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.tlsjail.testing.RealPeer;

/** Debian's lintian on the built package reports nothing but the tags README accepts and explains. */
class LintianIT {
    /** README, "Install (Debian package)", says why each is accepted. */
    private static final Set<String> ACCEPTED = Set.of(
            "codeless-jar",                                     // jffi-*-native.jar: native code in a jar
            "unknown-java-class-version",                       // Bouncy Castle's Java 25 multi-release classes
            "package-supports-alternative-init-but-no-init.d-script"); // systemd unit only
    private static final Pattern TAG = Pattern.compile("^[EWIPXCO]: tlsjail(?: [a-z]+)?: (\\S+)", Pattern.MULTILINE);

    @Test
    void reportsOnlyAcceptedTags() throws Exception {
        String file = System.getProperty("deb.file");
        RealPeer.require(Files.isExecutable(Path.of("/usr/bin/lintian")), "lintian is not installed (apt-get install lintian)");
        RealPeer.require(file != null && Files.isRegularFile(Path.of(file)), "no package built at " + file);

        DebianPackageIT.Result r = DebianPackageIT.run("lintian", "--tag-display-limit", "0", "--info",
                "--pedantic", file);
        Set<String> tags = new TreeSet<>();
        Matcher m = TAG.matcher(r.out());
        while (m.find()) {
            tags.add(m.group(1));
        }
        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(tags).as("lintian:\n%s", r.all()).isSubsetOf(ACCEPTED);
    }
}
