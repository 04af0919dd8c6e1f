package org.tlsjail.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.tlsjail.testing.Distribution;

/**
 * Drives the built distribution ({@code core/target/tlsjail/bin/tlsjail}) and openssl as separate
 * processes, exactly as an operator would. Used by the black-box *IT tests (failsafe, after package).
 */
final class Dist {
    static final Path LAUNCHER = Distribution.launcherPath();

    record Result(int exit, String out, String err) {
        String all() {
            return out + err;
        }
    }

    /** A running daemon with its stdout/stderr captured to files. */
    static final class Daemon implements AutoCloseable {
        final Process process;
        final Path stdout;
        final Path stderr;
        final Path stateDir;
        final int port;

        Daemon(Process process, Path stdout, Path stderr, Path stateDir, int port) {
            this.process = process;
            this.stdout = stdout;
            this.stderr = stderr;
            this.stateDir = stateDir;
            this.port = port;
        }

        String stdout() throws IOException {
            return Files.readString(stdout);
        }

        String stderr() throws IOException {
            return Files.readString(stderr);
        }

        void kill9() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }

        @Override
        public void close() throws Exception {
            if (process.isAlive()) {
                process.destroy(); // SIGTERM: orderly shutdown
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            }
        }
    }

    private Dist() {
    }

    /** Starts {@code tlsjail run ARGS} and waits until it has recorded its bound port. */
    static Daemon start(Path workDir, Path stateDir, String... args) throws Exception {
        return start(workDir, stateDir, java.util.Map.of(), args);
    }

    /** As {@link #start(Path, Path, String...)} with extra environment variables. */
    static Daemon start(Path workDir, Path stateDir, java.util.Map<String, String> env, String... args) throws Exception {
        Files.createDirectories(workDir);
        Path out = Files.createTempFile(workDir, "daemon", ".out");
        Path err = Files.createTempFile(workDir, "daemon", ".err");
        List<String> cmd = new ArrayList<>(List.of(LAUNCHER.toString(), "run"));
        cmd.addAll(List.of(args));
        Path portFile = stateDir.resolve("tlsjail.port");
        Files.deleteIfExists(portFile);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new AssertionError("tlsjail run exited with " + p.exitValue() + ":\n" + Files.readString(out)
                        + Files.readString(err));
            }
            if (Files.exists(portFile)) {
                String s = Files.readString(portFile).strip();
                if (!s.isEmpty()) {
                    // the daemon writes the port file last, after its welcome text
                    return new Daemon(p, out, err, stateDir, Integer.parseInt(s));
                }
            }
            Thread.sleep(100);
        }
        p.destroyForcibly();
        throw new AssertionError("tlsjail did not start within 180 s:\n" + Files.readString(out) + Files.readString(err));
    }

    /** {@code workDir/tlsjail.yaml} with {@code yaml}, replaced if it exists. */
    static Path writeConfig(Path workDir, String yaml) throws IOException {
        Path f = workDir.resolve("tlsjail.yaml");
        Files.writeString(f, yaml);
        return f;
    }

        static Result tlsjail(Path workDir, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        return exec(workDir, null, cmd);
    }

    static Result exec(Path workDir, String stdin, List<String> cmd) throws Exception {
        Distribution.Result r = Distribution.run(cmd, 180, workDir, null, stdin);
        if (r.timedOut()) {
            throw new AssertionError("timed out: " + cmd);
        }
        return new Result(r.exit(), r.stdout(), r.stderr());
    }

    /** openssl s_client from {@code source} (a 127.0.0.N address) with optional extra arguments. */
    static Result sClient(Path workDir, int port, String source, Path demoDir, boolean withCert, String stdin,
                          String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + port,
                "-bind", source + ":0", "-CAfile", demoDir.resolve("ca.pem").toString()));
        if (withCert) {
            cmd.addAll(List.of("-cert", demoDir.resolve("client-chain.pem").toString(),
                    "-key", demoDir.resolve("client-key.pem").toString(), "-ign_eof"));
        }
        cmd.addAll(List.of(extra));
        return exec(workDir, stdin, cmd);
    }

    static void assertGreeted(Result r) {
        assertThat(r.out()).as("s_client output:\n%s%s", r.out(), r.err())
                .contains("Hello CN=tlsjail demo client,O=tlsjail demo");
    }

    /** The Fail2Ban log is written by its own thread: wait (bounded) until it has {@code n} lines. */
    static List<String> awaitLogLines(Path log, int n) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<String> lines = List.of();
        while (System.nanoTime() < deadline) {
            lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
            if (lines.size() >= n) {
                return lines;
            }
            Thread.sleep(50);
        }
        return lines;
    }

    /**
     * The one error line of a failed command ("tlsjail: ..."); operational log lines may precede it
     * on stderr, but there must be exactly one error line and no stack trace.
     */
    static String errorLine(Result r) {
        List<String> errors = r.err().lines().filter(l -> l.startsWith("tlsjail: ")).toList();
        assertThat(errors).as("stderr:\n%s", r.err()).hasSize(1);
        assertThat(r.err()).doesNotContain("Exception in thread").doesNotContain("\tat ");
        return errors.get(0);
    }

    static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }
}
