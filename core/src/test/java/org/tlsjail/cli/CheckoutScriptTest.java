package org.tlsjail.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checkout's {@code ./tlsjail} rebuilds only when something that goes into the distribution
 * changed since the last build: run against a copy of a checkout's layout, with a fake
 * {@code mvn} first on PATH that records being called, and a fake launcher.
 */
class CheckoutScriptTest {
    private static final Instant BUILT = Instant.parse("2026-01-02T03:04:05Z");

    @TempDir
    Path root;
    private Path mvnCalls;

    @BeforeEach
    void checkout() throws Exception {
        Path script = repositoryRoot().resolve("tlsjail");
        Files.copy(script, root.resolve("tlsjail"));
        Files.setPosixFilePermissions(root.resolve("tlsjail"), PosixFilePermissions.fromString("rwxr-xr-x"));
        for (String f : List.of("pom.xml", "banengine/pom.xml", "netfilter-bridge/pom.xml", "core/pom.xml",
                "banengine/src/main/java/A.java", "netfilter-bridge/src/main/java/B.java", "core/src/main/java/C.java",
                "core/src/test/java/CTest.java", "bench/src/main/java/Bench.java", "conf/tlsjail.yaml", "README.md")) {
            write(f, "x", BUILT.minusSeconds(3600));
        }
        Path launcher = write("core/target/tlsjail/bin/tlsjail", "#!/bin/sh\necho \"launched $* as $TLSJAIL_COMMAND\"\n",
                BUILT.minusSeconds(7200)); // the assembly keeps the source's old mtime
        Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
        write("core/target/tlsjail/lib/tlsjail-cli.jsa", "archive", BUILT);
        mvnCalls = root.resolve("mvn-calls.txt");
        Path bin = Files.createDirectories(root.resolve("fake-bin"));
        Files.writeString(bin.resolve("mvn"), "#!/bin/sh\necho \"$*\" >> '" + mvnCalls + "'\n");
        Files.setPosixFilePermissions(bin.resolve("mvn"), PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @Test
    void noRebuildAfterABuildWhenNothingChanged() throws Exception {
        String out = run("status");
        assertThat(out).contains("launched status as ./tlsjail");
        assertThat(mvnCalls).doesNotExist();
    }

    @Test
    void editedTestsBenchOrReadmeDoNotRebuildTheDistribution() throws Exception {
        write("core/src/test/java/CTest.java", "y", BUILT.plusSeconds(60));
        write("bench/src/main/java/Bench.java", "y", BUILT.plusSeconds(60));
        write("README.md", "y", BUILT.plusSeconds(60));
        run("status");
        assertThat(mvnCalls).doesNotExist();
    }

    @Test
    void anEditedMainSourcePomOrConfRebuilds() throws Exception {
        for (String f : List.of("netfilter-bridge/src/main/java/B.java", "core/pom.xml", "conf/tlsjail.yaml")) {
            Files.deleteIfExists(mvnCalls);
            write(f, "y", Instant.now().plusSeconds(5));
            run("status");
            assertThat(mvnCalls).as(f).exists();
            assertThat(Files.readString(mvnCalls)).contains("-DskipTests").contains("package");
            // the build's stamp is now newer: the next call runs without building
            Files.delete(mvnCalls);
            write(f, "y", Instant.now().minusSeconds(5));
            run("status");
            assertThat(mvnCalls).as(f).doesNotExist();
        }
    }

    @Test
    void aMissingBuildStampRebuilds() throws Exception {
        Files.delete(root.resolve("core/target/tlsjail/lib/tlsjail-cli.jsa"));
        run("status");
        assertThat(mvnCalls).exists();
    }

    private String run(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("./tlsjail"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(root.toFile()).redirectErrorStream(true);
        pb.environment().put("PATH", root.resolve("fake-bin") + ":" + System.getenv("PATH"));
        pb.environment().remove("TLSJAIL_COMMAND");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    private Path write(String relative, String text, Instant mtime) throws Exception {
        Path f = root.resolve(relative);
        Files.createDirectories(f.getParent());
        Files.writeString(f, text);
        Files.setLastModifiedTime(f, FileTime.from(mtime));
        return f;
    }

    static Path repositoryRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isRegularFile(p.resolve("tlsjail"))) {
            p = p.getParent();
        }
        if (p == null) {
            throw new IllegalStateException("the checkout's ./tlsjail not found above " + Path.of("").toAbsolutePath());
        }
        return p;
    }
}
