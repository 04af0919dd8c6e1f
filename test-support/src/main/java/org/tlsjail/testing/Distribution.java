package org.tlsjail.testing;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The built distribution's launcher, {@code core/target/tlsjail/bin/tlsjail} (failsafe passes its
 * directory as {@code tlsjail.dist}), run as a child process the way users run it. For the
 * black-box *IT tests (failsafe, after package).
 */
public final class Distribution {
    private Distribution() {
    }

    /** A finished (or, {@code timedOut}, killed) process: its exit status and both outputs. */
    public record Result(int exit, String stdout, String stderr, boolean timedOut) {
        public String all() {
            return stdout + stderr;
        }
    }

    /** Where the launcher is (it may not be built). */
    public static Path launcherPath() {
        return Path.of(System.getProperty("tlsjail.dist", "target/tlsjail"), "bin", "tlsjail").toAbsolutePath();
    }

    /** The launcher, or the test is skipped with the reason (under CI=true: fails). */
    public static Path launcher() {
        Path bin = launcherPath();
        RealPeer.require(Files.isExecutable(bin),
                "no built distribution at " + bin + " (run `mvn -B verify`: it is built in the package phase)");
        return bin;
    }

    /** {@code tlsjail ARGS}. */
    public static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(launcher().toString());
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Runs to completion (or kills it after {@code timeoutSeconds}); stdin is empty. */
    public static Result run(List<String> cmd, long timeoutSeconds, Path workDir) throws Exception {
        return run(cmd, timeoutSeconds, workDir, null, null);
    }

    /** As {@link #run(List, long, Path)}, with {@code javaOpts} as the launcher's JAVA_OPTS (null: inherited). */
    public static Result run(List<String> cmd, long timeoutSeconds, Path workDir, String javaOpts) throws Exception {
        return run(cmd, timeoutSeconds, workDir, javaOpts, null);
    }

    /**
     * Runs {@code cmd} in {@code workDir} (null: the current directory) with {@code stdin} as its
     * input (null: empty); after {@code timeoutSeconds} it and its descendants are killed and the
     * result says {@code timedOut}.
     */
    public static Result run(List<String> cmd, long timeoutSeconds, Path workDir, String javaOpts, String stdin)
            throws Exception {
        Path out = Files.createTempFile("tlsjail-out", ".txt");
        Path err = Files.createTempFile("tlsjail-err", ".txt");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
            if (stdin == null) {
                pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            }
            if (workDir != null) {
                pb.directory(workDir.toFile());
            }
            if (javaOpts != null) {
                pb.environment().put("JAVA_OPTS", javaOpts);
            }
            Process p = pb.start();
            if (stdin != null) {
                p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
                p.getOutputStream().close();
            }
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
