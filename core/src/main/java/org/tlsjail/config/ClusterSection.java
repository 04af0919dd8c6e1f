package org.tlsjail.config;

import java.nio.file.Path;
import org.tlsjail.cluster.ClusterSettings;

/**
 * {@code cluster:}: share the failure window and the bans with other nodes through Redis.
 *
 * @param settings     what the cluster module needs (the password already read from its file)
 * @param passwordFile where the password came from, or null
 */
public record ClusterSection(ClusterSettings settings, Path passwordFile) {
}
