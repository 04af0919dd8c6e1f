package org.tlsjail.faults;

import org.tlsjail.testing.RealPeer;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The built distribution's launcher, {@code core/target/tlsjail/bin/tlsjail} (failsafe passes its
 * directory as {@code tlsjail.dist}), run as a child process the way users run it.
 */
final class Distribution {
    private Distribution() {
    }

    record Result(int exit, String stdout, String stderr, boolean timedOut) {
    }

    /** The launcher, or the test is skipped with the reason (the distribution is built in `package`). */
    static Path launcher() {
        String dist = System.getProperty("tlsjail.dist");
        Path home = dist != null ? Path.of(dist) : Path.of("target/tlsjail").toAbsolutePath();
        Path bin = home.resolve("bin/tlsjail");
        RealPeer.require(Files.isExecutable(bin),
                "no built distribution at " + bin + " (run `mvn -B verify`: it is built in the package phase)");
        return bin;
    }

    static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(launcher().toString());
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Runs to completion (or kills it after {@code timeoutSeconds}); stdin is empty. */
    static Result run(List<String> cmd, long timeoutSeconds, Path workDir) throws Exception {
        return run(cmd, timeoutSeconds, workDir, null);
    }

    /** As {@link #run(List, long, Path)}, with {@code javaOpts} as the launcher's JAVA_OPTS (null: inherited). */
    static Result run(List<String> cmd, long timeoutSeconds, Path workDir, String javaOpts) throws Exception {
        Path out = Files.createTempFile("tlsjail-out", ".txt");
        Path err = Files.createTempFile("tlsjail-err", ".txt");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            if (workDir != null) {
                pb.directory(workDir.toFile());
            }
            if (javaOpts != null) {
                pb.environment().put("JAVA_OPTS", javaOpts);
            }
            Process p = pb.start();
            boolean done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
            if (!done) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            return new Result(done ? p.exitValue() : -1, Files.readString(out, StandardCharsets.UTF_8),
                    new String(Files.readAllBytes(err), StandardCharsets.UTF_8), !done);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
