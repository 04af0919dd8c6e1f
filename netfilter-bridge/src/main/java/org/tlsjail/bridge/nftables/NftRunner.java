package org.tlsjail.bridge.nftables;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs one nft script as one {@code nft -f -} subprocess, bounded by a timeout. The script and the
 * output go through files, not pipes, so a stuck nft can never block the caller beyond the timeout.
 */
final class NftRunner {

    /** How one nft run ended. */
    record Result(int exitCode, String output) {
        boolean ok() {
            return exitCode == 0;
        }
    }

    private final Path nft;
    private final Duration timeout;

    NftRunner(Path nft, Duration timeout) {
        this.nft = nft;
        this.timeout = timeout;
    }

    Path program() {
        return nft;
    }

    /** Runs {@code nft -f -} with {@code script}; IOException if nft could not be run or hung. */
    Result apply(String script) throws IOException {
        return run(script, "-f", "-");
    }

    /** Runs nft with {@code args} (fixed words only) and no input. */
    Result run(String stdin, String... args) throws IOException {
        // Files.createTempFile: owner-only permissions, the script lists banned addresses
        File in = Files.createTempFile("tlsjail-nft-", ".nft").toFile();
        File out = Files.createTempFile("tlsjail-nft-", ".out").toFile();
        try {
            Files.writeString(in.toPath(), stdin == null ? "" : stdin, StandardCharsets.UTF_8);
            List<String> cmd = new java.util.ArrayList<>();
            cmd.add(nft.toString());
            cmd.addAll(List.of(args));
            Process p = new ProcessBuilder(cmd)
                    .redirectInput(in)
                    .redirectOutput(out)
                    .redirectErrorStream(true)
                    .start();
            boolean done;
            try {
                done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while nft ran", e);
            }
            if (!done) {
                p.destroyForcibly();
                throw new IOException(nft + " did not finish within " + timeout.toMillis() + " ms");
            }
            String output = Files.readString(out.toPath(), StandardCharsets.UTF_8).strip();
            if (output.length() > 2000) {
                output = output.substring(0, 2000) + "...";
            }
            return new Result(p.exitValue(), output);
        } finally {
            Files.deleteIfExists(in.toPath());
            Files.deleteIfExists(out.toPath());
        }
    }

    /** Finds the nft program: a path as given, a bare name on PATH or in the sbin directories. */
    static Path resolve(Path configured) {
        if (configured.toString().contains("/")) {
            return Files.isRegularFile(configured) && Files.isExecutable(configured) ? configured : null;
        }
        String path = System.getenv("PATH");
        String dirs = (path == null ? "" : path + File.pathSeparator) + "/usr/sbin:/sbin:/usr/local/sbin";
        for (String d : dirs.split(File.pathSeparator)) {
            if (d.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(d).resolve(configured);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return null;
    }
}
