package org.tlsjail.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterConfigTest {
    @TempDir
    Path dir;

    private TlsjailConfig load(String yaml) throws Exception {
        return TestConfigFiles.load(dir, yaml);
    }

    private Path password(String text, String mode) throws Exception {
        Path p = dir.resolve("redis.pw");
        Files.writeString(p, text);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
        return p;
    }

    @Test
    void noSectionNoCluster() throws Exception {
        assertThat(load("jail: {maxretry: 3}\n").cluster()).isNull();
    }

    @Test
    void everyKeyMapped() throws Exception {
        password("s3cret\n", "rw-r-----");
        TlsjailConfig c = load("""
                cluster:
                  redis: redis://127.0.0.1:6379/2
                  username: tlsjail
                  password-file: redis.pw
                  key-prefix: prod-tls
                  timeout-ms: 250
                  node-name: node-1
                  stream-length: 5000
                """);
        var s = c.cluster().settings();
        assertThat(s.uri()).isEqualTo("redis://127.0.0.1:6379/2");
        assertThat(s.username()).isEqualTo("tlsjail");
        assertThat(new String(s.password())).isEqualTo("s3cret");
        assertThat(s.prefix()).isEqualTo("prod-tls");
        assertThat(s.timeout()).isEqualTo(Duration.ofMillis(250));
        assertThat(s.nodeName()).isEqualTo("node-1");
        assertThat(s.streamLength()).isEqualTo(5000);
        assertThat(s.toString()).doesNotContain("s3cret");
        assertThat(c.cluster().passwordFile()).isEqualTo(dir.resolve("redis.pw"));
    }

    @Test
    void defaults() throws Exception {
        var s = load("cluster: {redis: 'redis://[::1]:6379'}\n").cluster().settings();
        assertThat(s.prefix()).isEqualTo("tlsjail");
        assertThat(s.timeout()).isEqualTo(Duration.ofSeconds(1));
        assertThat(s.nodeName()).matches("[A-Za-z0-9._-]{1,64}");
        assertThat(s.password()).isNull();
    }

    @Test
    void mistakesAreRefusedWithFileLineAndKey() throws Exception {
        assertThatThrownBy(() -> load("cluster: {username: x}\n")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("cluster.redis").hasMessageContaining("required");
        assertThatThrownBy(() -> load("cluster: {redis: 'redis://u:pw@127.0.0.1:6379'}\n"))
                .hasMessageContaining("cluster.redis").hasMessageContaining("no user, password");
        assertThatThrownBy(() -> load("cluster: {redis: 'http://127.0.0.1'}\n")).hasMessageContaining("redis://");
        assertThatThrownBy(() -> load("cluster: {redis: 'redis-sentinel://127.0.0.1:26379'}\n"))
                .hasMessageContaining("master");
        assertThatThrownBy(() -> load("cluster: {redis: 'redis://h:1', key-prefix: '{x}'}\n"))
                .hasMessageContaining("cluster.key-prefix");
        assertThatThrownBy(() -> load("cluster: {redis: 'redis://h:1', node-name: \"a b\"}\n"))
                .hasMessageContaining("cluster.node-name");
        assertThatThrownBy(() -> load("cluster: {redis: 'redis://h:1', ca-file: ca.pem}\n"))
                .hasMessageContaining("cluster.ca-file").hasMessageContaining("rediss://");
        assertThatThrownBy(() -> load("cluster: {redis: 'redis://h:1', timeout-ms: 0}\n"))
                .hasMessageContaining("cluster.timeout-ms");
        assertThatThrownBy(() -> load("cluster: {redis: 'redis://h:1', pasword-file: x}\n"))
                .hasMessageContaining("pasword-file");
        assertThatThrownBy(() -> load("cluster:\n  redis: redis://h:1\n  password: inline\n"))
                .hasMessageContaining("tlsjail.yaml:3").hasMessageContaining("cluster.password");
    }

    @Test
    void passwordFileMustBeOwnersOnlyRegularAndNoLink() throws Exception {
        Path pw = password("s3cret\n", "rw-r--r--");
        assertThatThrownBy(() -> load("cluster: {redis: 'redis://h:1', password-file: redis.pw}\n"))
                .hasMessageContaining("readable or writable by other users");
        Files.setPosixFilePermissions(pw, PosixFilePermissions.fromString("rw-------"));
        Files.createSymbolicLink(dir.resolve("link.pw"), pw);
        assertThatThrownBy(() -> load("cluster: {redis: 'redis://h:1', password-file: link.pw}\n"))
                .hasMessageContaining("symbolic link");
        password("\n", "rw-------");
        assertThatThrownBy(() -> load("cluster: {redis: 'redis://h:1', password-file: redis.pw}\n"))
                .hasMessageContaining("empty");
        assertThatThrownBy(() -> load("cluster: {redis: 'redis://h:1', password-file: nope.pw}\n"))
                .hasMessageContaining("no such file");
    }
}
