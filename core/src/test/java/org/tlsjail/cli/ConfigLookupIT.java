package org.tlsjail.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.testing.RealPeer;

/**
 * bin/tlsjail finds its configuration without flags: {@code --config}, else {@code $TLSJAIL_CONFIG},
 * else /etc/tlsjail/tlsjail.yaml if it exists (exercised by the Debian package's test, which
 * installs it), else the embedded default.
 */
class ConfigLookupIT {
    @TempDir
    Path work;

    /** bin/tlsjail ARGS with $TLSJAIL_CONFIG set to {@code env} (null: removed from the environment). */
    private Dist.Result tlsjail(String env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Dist.LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(work, "out", ".txt");
        Path err = Files.createTempFile(work, "err", ".txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(work.toFile()).redirectOutput(out.toFile())
                .redirectError(err.toFile()).redirectInput(new File("/dev/null"));
        if (env == null) {
            pb.environment().remove(ConfigLocation.ENV);
        } else {
            pb.environment().put(ConfigLocation.ENV, env);
        }
        Process p = pb.start();
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + cmd);
        }
        return new Dist.Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    private Path config(String name, String yaml) throws Exception {
        return Files.writeString(work.resolve(name), yaml);
    }

    @Test
    void environmentVariableIsUsedWhenNoConfigOptionIsGivenAndTheOptionWins() throws Exception {
        Path fromEnv = config("env.yaml", "state-dir: env-state\nlisten: {port: 0}\njail: {maxretry: 7}\n");
        Path fromOption = config("option.yaml", "state-dir: option-state\nlisten: {port: 0}\njail: {maxretry: 5}\n");

        Dist.Result check = tlsjail(fromEnv.toString(), "config", "check");
        assertThat(check.exit()).as(check.all()).isZero();
        assertThat(check.out()).isEqualTo(fromEnv + ": OK\n");
        assertThat(tlsjail(fromEnv.toString(), "config", "show").out()).contains("maxretry: 7");

        Dist.Result option = tlsjail(fromEnv.toString(), "config", "check", "--config", fromOption.toString());
        assertThat(option.out()).isEqualTo(fromOption + ": OK\n");

        // A client command finds the daemon's socket through the file named by the variable.
        Dist.Result status = tlsjail(fromEnv.toString(), "status");
        assertThat(status.exit()).as(status.all()).isEqualTo(3);
        assertThat(status.err()).contains(work.resolve("env-state").resolve("control.sock").toString());
    }

    @Test
    void aVariableNamingAMissingFileIsAnErrorNotTheDefault() throws Exception {
        Path missing = work.resolve("no-such.yaml");
        Dist.Result r = tlsjail(missing.toString(), "config", "check");
        assertThat(r.exit()).as(r.all()).isEqualTo(2);
        assertThat(Dist.errorLine(r)).contains(missing.toString());
    }

    @Test
    void withoutOptionVariableOrInstalledFileItIsTheEmbeddedDefault() throws Exception {
        // CI's machine has no installed tlsjail: there this must run, not skip
        RealPeer.require(!Files.exists(ConfigLocation.INSTALLED),
                ConfigLocation.INSTALLED + " exists on this machine (tlsjail is installed): it would be used");
        assertThat(tlsjail(null, "config", "check").out()).isEqualTo("(embedded default): OK\n");
        assertThat(tlsjail("", "config", "check").out()).as("empty = unset").isEqualTo("(embedded default): OK\n");
    }
}
