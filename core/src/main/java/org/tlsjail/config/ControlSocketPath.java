package org.tlsjail.config;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Where the control socket is, for the CLI's client commands ({@code status}, {@code banned},
 * {@code ban}, {@code unban}, ...): only {@code state-dir} and {@code control.socket}, resolved
 * exactly as {@link ConfigLoader} resolves them, without validating (or loading the classes for)
 * everything else. A CLI call must answer as fast as {@code fail2ban-client}; {@code reload} and
 * {@code config check} still read the whole file.
 *
 * <p>Anything unusual (an unreadable or malformed file, a value of the wrong type) returns empty:
 * the caller then loads the configuration fully, which reports the problem with file:line:column.
 */
public final class ControlSocketPath {
    private static final int MAX_FILE_BYTES = 1 << 20;

    private ControlSocketPath() {
    }

    public static Optional<Path> find(Path workingDir, Path file, Path stateDirOverride) {
        Path wd = workingDir.toAbsolutePath().normalize();
        if (file == null) {
            Path state = stateDirOverride != null ? wd.resolve(stateDirOverride).normalize()
                    : wd.resolve(ConfigLoader.DEFAULT_STATE_DIR);
            return Optional.of(state.resolve("control.sock"));
        }
        Path abs = wd.resolve(file).normalize();
        try {
            if (!Files.isRegularFile(abs) || Files.size(abs) > MAX_FILE_BYTES) {
                return Optional.empty();
            }
            String text;
            try (InputStream in = Files.newInputStream(abs)) {
                text = new String(in.readNBytes(MAX_FILE_BYTES), StandardCharsets.UTF_8);
            }
            LoaderOptions options = new LoaderOptions();
            options.setMaxAliasesForCollections(20);
            options.setNestingDepthLimit(20);
            options.setAllowDuplicateKeys(false);
            Object root = new Yaml(new SafeConstructor(options)).load(text);
            if (root != null && !(root instanceof Map)) {
                return Optional.empty();
            }
            Map<?, ?> map = root == null ? Map.of() : (Map<?, ?>) root;
            Path base = abs.getParent();
            Path state;
            if (stateDirOverride != null) {
                state = wd.resolve(stateDirOverride).normalize();
            } else if (map.get("state-dir") == null) {
                state = base.resolve(ConfigLoader.DEFAULT_STATE_DIR);
            } else if (map.get("state-dir") instanceof String s) {
                state = base.resolve(s).normalize();
            } else {
                return Optional.empty();
            }
            Object control = map.get("control");
            if (control == null) {
                return Optional.of(state.resolve("control.sock"));
            }
            if (!(control instanceof Map<?, ?> c)) {
                return Optional.empty();
            }
            Object socket = c.get("socket");
            if (socket == null) {
                return Optional.of(state.resolve("control.sock"));
            }
            return socket instanceof String s ? Optional.of(base.resolve(s).normalize()) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            // org.yaml.snakeyaml.error.YAMLException, InvalidPathException and the like
            return Optional.empty();
        }
    }
}
