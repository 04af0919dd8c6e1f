package org.tlsjail.packaging;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.pki.DemoPki;
import org.tlsjail.testing.RealPeer;

/**
 * The Debian package on this machine, as an administrator uses it: dpkg -i, the files, the user,
 * the state directory, the conffile, the installed CLI without flags, the daemon as user tlsjail
 * (started with setpriv: no systemd runs here) banning the third failed openssl handshake, an
 * upgrade to a higher version keeping the ban and the edited conffile, and a purge that leaves
 * nothing behind. Root only; it installs and purges the real package, so it refuses to run where
 * tlsjail is already installed or a user tlsjail exists.
 */
class DebianPackageIT {
    private static final Path CONFFILE = Path.of("/etc/tlsjail/tlsjail.yaml");
    private static final Path STATE = Path.of("/var/lib/tlsjail");
    private static final Path LOGDIR = Path.of("/var/log/tlsjail");
    private static final Path LAUNCHER = Path.of("/usr/bin/tlsjail");
    /** The CLI's class-data archive: dumped by postinst for the installed jars, not shipped. */
    private static final Path CDS_ARCHIVE = Path.of("/usr/share/tlsjail/lib/tlsjail-cli.jsa");
    /** JAVA_OPTS the launcher passes on and the JVM refuses to start with. */
    private static final String[] BROKEN_JVM = {"JAVA_OPTS", "-XX:+NoSuchOptionForDebianPackageIT"};
    /** Key material an operator adds to /etc/tlsjail: not the package's, so purge keeps it. */
    private static final List<String> OPERATOR_FILES = List.of("it-server-chain.pem", "it-server-key.pem", "it-ca.pem");

    @TempDir
    Path work;

    record Result(int exit, String out, String err) {
        String all() {
            return out + err;
        }
    }

    @Test
    void installConfigureBanUpgradeKeepingBanAndConffileThenPurgeClean() throws Exception {
        requireRootAndDpkg();
        Path deb = builtDeb("deb.file");
        Path upgrade = builtDeb("deb.upgrade-test.file");
        String status = run("dpkg-query", "-W", "-f=${Status}", "tlsjail").out();
        RealPeer.require(status.isEmpty() || status.contains("not-installed"),
                "a machine without tlsjail: it is installed here (" + status + ") and this test would purge it");
        RealPeer.require(run("getent", "passwd", "tlsjail").exit() != 0,
                "a machine without a user tlsjail: purging the package would delete it");
        boolean jailExisted = Files.exists(Path.of("/etc/fail2ban/jail.d/os4x.conf"));
        boolean filterExisted = Files.exists(Path.of("/etc/fail2ban/filter.d/os4x.conf"));
        boolean actionExisted = Files.exists(Path.of("/etc/fail2ban/action.d/tlsjail.conf"));
        Process daemon = null;
        try {
            // --- install ---
            // A JVM that cannot start (an option it refuses) while postinst dumps the CLI's archive:
            // the install must still succeed, just without the archive (the upgrade below dumps it).
            Result install = dpkgWithEnv(BROKEN_JVM, "-i", deb.toString());
            if (install.exit() != 0 && install.err().contains("dependency problems")) {
                // A machine without Java 17 or adduser: let apt fetch them and finish configuring.
                install = runWithEnv(BROKEN_JVM, "apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300",
                        "--no-install-recommends", "-f", "install");
            }
            assertThat(install.exit()).as(install.all()).isZero();
            assertThat(install.err()).contains("tlsjail: no class-data archive for the CLI");
            assertThat(CDS_ARCHIVE).doesNotExist();
            assertThat(Path.of(CDS_ARCHIVE + ".new")).doesNotExist();
            assertThat(run("dpkg-query", "-W", "-f=${Status} ${Version}", "tlsjail").out())
                    .isEqualTo("install ok installed " + debVersion(deb));

            assertThat(Files.isSymbolicLink(LAUNCHER)).isTrue();
            assertThat(LAUNCHER.toRealPath()).isEqualTo(Path.of("/usr/share/tlsjail/bin/tlsjail"));
            for (String bc : List.of("bcprov", "bctls", "bcpkix", "bcutil")) {
                Path jar = Path.of("/usr/share/tlsjail/lib/" + bc + "-jdk18on-1.84.jar");
                try (JarFile j = new JarFile(jar.toFile())) {
                    assertThat(j.stream().anyMatch(e -> e.getName().endsWith(".SF")))
                            .as("%s keeps Bouncy Castle's signature (unshaded)", jar).isTrue();
                }
            }
            List<PathMatcher> excluded = dpkgPathExcludes();
            for (String f : List.of("/lib/systemd/system/tlsjail.service", "/etc/logrotate.d/tlsjail",
                    "/etc/fail2ban/filter.d/os4x.conf", "/etc/fail2ban/action.d/tlsjail.conf",
                    "/usr/share/doc/tlsjail/README.md",
                    "/usr/share/doc/tlsjail/copyright", "/usr/share/doc/tlsjail/changelog.gz",
                    "/usr/share/doc/tlsjail/examples/jail.d/os4x.conf", "/usr/share/man/man1/tlsjail.1.gz",
                    CONFFILE.toString())) {
                if (excluded.stream().noneMatch(m -> m.matches(Path.of(f)))) {
                    assertThat(Path.of(f)).isRegularFile();
                }
            }
            assertThat(Files.exists(Path.of("/etc/fail2ban/jail.d/os4x.conf")))
                    .as("installing enables no Fail2Ban jail").isEqualTo(jailExisted);
            assertThat(run("dpkg-query", "-W", "-f=${Conffiles}", "tlsjail").out())
                    .contains("/etc/tlsjail/tlsjail.yaml").contains("/etc/logrotate.d/tlsjail")
                    .contains("/etc/fail2ban/filter.d/os4x.conf").contains("/etc/fail2ban/action.d/tlsjail.conf");
            assertThat(run("dpkg", "-L", "tlsjail").out()).as("the archive is not the package's")
                    .doesNotContain(".jsa");
            String template = Files.readString(CONFFILE);
            assertThat(template).contains("state-dir: /var/lib/tlsjail").contains("path: /var/log/tlsjail/fail2ban.log");
            // Every file of the package is root's and writable by root only.
            for (String line : run("dpkg", "-L", "tlsjail").out().split("\n")) {
                Path p = Path.of(line.strip());
                if (line.isBlank() || !Files.exists(p, LinkOption.NOFOLLOW_LINKS) || Files.isSymbolicLink(p)) {
                    continue;
                }
                PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                assertThat(a.owner().getName()).as("owner of %s", p).isEqualTo("root");
                assertThat(a.permissions()).as("mode of %s", p)
                        .doesNotContain(PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE);
            }

            // --- the user and its directories ---
            String[] pw = run("getent", "passwd", "tlsjail").out().strip().split(":");
            assertThat(Integer.parseInt(pw[2])).as("a system uid").isLessThan(1000);
            assertThat(pw[5]).isEqualTo("/var/lib/tlsjail");
            assertThat(pw[6]).isEqualTo("/usr/sbin/nologin");
            assertThat(run("getent", "group", "tlsjail").exit()).isZero();
            for (Path dir : List.of(STATE, LOGDIR)) {
                PosixFileAttributes a = Files.readAttributes(dir, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                assertThat(a.isDirectory()).isTrue();
                assertThat(a.owner().getName()).isEqualTo("tlsjail");
                assertThat(a.group().getName()).isEqualTo("tlsjail");
                assertThat(PosixFilePermissions.toString(a.permissions())).as("%s", dir).isEqualTo("rwxr-x---");
            }
            if (onPath("systemd-analyze")) {
                Result verify = run("systemd-analyze", "verify", "/lib/systemd/system/tlsjail.service");
                assertThat(verify.exit()).as(verify.all()).isZero();
            }

            // --- the template: the CLI finds it without flags, and the service would not start ---
            // Without flags the CLI reads the installed template (the embedded default would pass),
            // whose key files do not exist yet.
            Result check = tlsjail("config", "check");
            assertThat(check.exit()).as(check.all()).isEqualTo(2);
            assertThat(check.err()).contains("/etc/tlsjail/server-key.pem");
            Result unconfigured = run("/usr/share/tlsjail/bin/tlsjail-configured");
            assertThat(unconfigured.exit()).as(unconfigured.all()).isEqualTo(1);
            assertThat(unconfigured.err()).contains("not starting").contains("/etc/tlsjail/server-key.pem");

            // --- configure: a demo PKI and an edited conffile on a free loopback port ---
            DemoPki.Layout pki = DemoPki.ensure(work.resolve("pki"));
            copyKeyMaterial(pki.serverChain(), "it-server-chain.pem");
            copyKeyMaterial(pki.serverKey(), "it-server-key.pem");
            copyKeyMaterial(pki.caCertificate(), "it-ca.pem");
            int port = freePort();
            String edited = template
                    .replace("address: 0.0.0.0", "address: 127.0.0.1")
                    .replace("port: 6619 ", "port: " + port + " ")
                    .replace("/etc/tlsjail/server-chain.pem", "/etc/tlsjail/it-server-chain.pem")
                    .replace("/etc/tlsjail/server-key.pem", "/etc/tlsjail/it-server-key.pem")
                    .replace("/etc/tlsjail/partner-cas.pem", "/etc/tlsjail/it-ca.pem")
                    .replace("ignoreip: [127.0.0.1/8, \"::1\"]", "ignoreip: []");
            assertThat(edited).contains("port: " + port).contains("ignoreip: []").contains("it-ca.pem");
            Files.writeString(CONFFILE, "# edited by the administrator\n" + edited);
            Result configured = run("/usr/share/tlsjail/bin/tlsjail-configured");
            assertThat(configured.exit()).as(configured.all()).isZero();
            assertThat(tlsjail("config", "check").out()).isEqualTo(CONFFILE + ": OK\n");

            // --- the daemon as user tlsjail; three failed handshakes ban the source ---
            String source = "127." + ThreadLocalRandom.current().nextInt(1, 255) + "."
                    + ThreadLocalRandom.current().nextInt(0, 256) + "." + ThreadLocalRandom.current().nextInt(1, 255);
            daemon = startAsTlsjail();
            for (int i = 0; i < 3; i++) {
                sClient(port, source, pki); // no client certificate: the handshake fails
            }
            awaitBanned(source);
            List<String> log = Files.readAllLines(LOGDIR.resolve("fail2ban.log"));
            assertThat(log).filteredOn(l -> l.contains("from " + source + ":")).hasSize(3);
            assertThat(Files.getOwner(LOGDIR.resolve("fail2ban.log")).getName()).isEqualTo("tlsjail");
            fail2banActionBansAndUnbansInTlsjail();
            stop(daemon);

            // --- upgrade: the journal keeps the ban, dpkg keeps the edited conffile ---
            String editedOnDisk = Files.readString(CONFFILE);
            Result up = dpkg("-i", upgrade.toString());
            assertThat(up.exit()).as(up.all()).isZero();
            assertThat(run("dpkg-query", "-W", "-f=${Version}", "tlsjail").out()).isEqualTo(debVersion(upgrade));
            assertThat(Files.readString(CONFFILE)).isEqualTo(editedOnDisk);
            assertThat(Path.of(CONFFILE + ".dpkg-new")).doesNotExist();
            assertThat(Path.of(CONFFILE + ".dpkg-dist")).doesNotExist();
            assertCliUsesClassDataArchive(); // dumped again for the new jars
            daemon = startAsTlsjail();
            assertThat(tlsjail("banned").out()).as("ban restored from the journal after the upgrade").contains(source);
            Result refused = sClient(port, source, pki);
            assertThat(refused.all()).doesNotContain("BEGIN CERTIFICATE").doesNotContain("Server certificate");
            stop(daemon);
            daemon = null;

            // --- purge: nothing left but the operator's own key files ---
            Result purge = dpkg("--purge", "tlsjail");
            assertThat(purge.exit()).as(purge.all()).isZero();
            // (/etc/tlsjail stays non-empty on purpose: the operator's key files)
            assertThat(purge.all()).as("no file postinst made keeps a directory of the package")
                    .doesNotContain("'/usr/share/tlsjail");
            assertThat(run("dpkg-query", "-W", "-f=${Status}", "tlsjail").out()).doesNotContain("installed");
            for (String f : List.of("/usr/bin/tlsjail", "/usr/share/tlsjail", "/usr/share/doc/tlsjail",
                    "/lib/systemd/system/tlsjail.service", "/etc/logrotate.d/tlsjail", CONFFILE.toString(),
                    STATE.toString(), LOGDIR.toString())) {
                assertThat(Files.exists(Path.of(f), LinkOption.NOFOLLOW_LINKS)).as("%s after purge", f).isFalse();
            }
            assertThat(Files.exists(Path.of("/etc/fail2ban/filter.d/os4x.conf"))).isEqualTo(filterExisted);
            assertThat(Files.exists(Path.of("/etc/fail2ban/action.d/tlsjail.conf"))).isEqualTo(actionExisted);
            assertThat(run("getent", "passwd", "tlsjail").exit()).as("user removed on purge").isNotZero();
            assertThat(run("getent", "group", "tlsjail").exit()).as("group removed on purge").isNotZero();
            try (Stream<Path> left = Files.list(Path.of("/etc/tlsjail"))) {
                assertThat(left.map(p -> p.getFileName().toString()).sorted().toList())
                        .containsExactlyElementsOf(OPERATOR_FILES.stream().sorted().toList());
            }
        } finally {
            if (daemon != null) {
                stop(daemon);
            }
            cleanUp();
        }
    }

    // ---------------------------------------------------------------- helpers

    /**
     * The installed example jail with the installed filter and action, as Fail2Ban resolves them
     * (fail2ban-client -d on a copy of /etc/fail2ban): the commands it would run for a ban and an
     * unban, run as Fail2Ban runs them (root, sh, a service PATH), reach the running daemon.
     */
    private void fail2banActionBansAndUnbansInTlsjail() throws Exception {
        RealPeer.require(onPath("fail2ban-client"), "fail2ban-client missing (apt-get install fail2ban)");
        Path conf = work.resolve("fail2ban");
        assertThat(run("cp", "-r", "/etc/fail2ban", conf.toString()).exit()).isZero();
        try (Stream<Path> jails = Files.list(conf.resolve("jail.d"))) {
            for (Path j : jails.toList()) {
                Files.delete(j); // only the example's jail
            }
        }
        Files.copy(Path.of("/usr/share/doc/tlsjail/examples/jail.d/os4x.conf"), conf.resolve("jail.d/os4x.conf"));
        Result dump = run("fail2ban-client", "-c", conf.toString(), "-d");
        assertThat(dump.exit()).as(dump.all()).isZero();
        String tlsjailAction = dump.out().lines().filter(l -> l.contains("'action', 'tlsjail', ")).findFirst()
                .orElseThrow(() -> new AssertionError("the jail has no tlsjail action:\n" + dump.all()));
        String target = "127." + ThreadLocalRandom.current().nextInt(1, 255) + ".0." + ThreadLocalRandom.current().nextInt(1, 255);
        String ban = f2bCommand(tlsjailAction, "actionban").replace("<ip>", target).replace("<bantime>", "3600");
        String unban = f2bCommand(tlsjailAction, "actionunban").replace("<ip>", target);
        assertThat(ban).startsWith("tlsjail ban " + target);

        Result banned = runWithEnv(new String[] {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
                "sh", "-c", ban);
        assertThat(banned.exit()).as(ban + ": " + banned.all()).isZero();
        assertThat(tlsjail("banned").out()).contains(target);
        Result unbanned = runWithEnv(new String[] {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
                "sh", "-c", unban);
        assertThat(unbanned.exit()).as(unban + ": " + unbanned.all()).isZero();
        assertThat(tlsjail("banned").out()).doesNotContain(target);
    }

    private static String f2bCommand(String actionDump, String key) {
        Matcher m = Pattern.compile("\\['" + key + "', '([^']*)'\\]").matcher(actionDump);
        assertThat(m.find()).as("%s in %s", key, actionDump).isTrue();
        return m.group(1);
    }

    /**
     * postinst dumped the archive for the installed jars: root's, not writable by others, and the
     * JVM maps it. {@code -Xshare:on} (JAVA_OPTS comes after the launcher's flags) makes the JVM
     * fail instead of silently running without an archive that does not match these jars/paths.
     */
    private void assertCliUsesClassDataArchive() throws Exception {
        PosixFileAttributes a = Files.readAttributes(CDS_ARCHIVE, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        assertThat(a.isRegularFile()).isTrue();
        assertThat(a.owner().getName()).isEqualTo("root");
        assertThat(a.permissions()).doesNotContain(PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE);
        assertThat(Path.of(CDS_ARCHIVE + ".new")).doesNotExist();
        Result strict = runWithEnv(new String[] {"JAVA_OPTS", "-Xshare:on -Xlog:cds=info"},
                LAUNCHER.toString(), "status", "--state-dir", work.resolve("no-daemon").toString());
        assertThat(strict.exit()).as(strict.all()).isEqualTo(3);
        assertThat(strict.all()).contains(CDS_ARCHIVE.toString());
    }

    private static void requireRootAndDpkg() {
        RealPeer.require("root".equals(System.getProperty("user.name")),
                "not root: the Debian package test installs and purges tlsjail system-wide");
        RealPeer.require(onPath("dpkg") && onPath("openssl") && onPath("setpriv"), "dpkg, openssl or setpriv missing");
    }

    private static boolean onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, command))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/sbin", command)) || Files.isExecutable(Path.of("/sbin", command));
    }

    /** The package failsafe names in {@code property} (built in package / pre-integration-test). */
    private static Path builtDeb(String property) {
        String file = System.getProperty(property);
        RealPeer.require(file != null && Files.isRegularFile(Path.of(file)),
                "no package built at " + file + " (mvn -B verify builds it)");
        return Path.of(file);
    }

    private static String debVersion(Path deb) {
        String n = deb.getFileName().toString();
        return n.substring("tlsjail_".length(), n.length() - "_all.deb".length());
    }

    /**
     * dpkg's path-exclude patterns (minimal images drop /usr/share/doc and /usr/share/man); a file
     * a path-include re-admits (e.g. copyright) is not excluded.
     */
    private static List<PathMatcher> dpkgPathExcludes() throws IOException {
        List<PathMatcher> excludes = new ArrayList<>();
        List<PathMatcher> includes = new ArrayList<>();
        Path dir = Path.of("/etc/dpkg/dpkg.cfg.d");
        if (Files.isDirectory(dir)) {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    for (String line : Files.readAllLines(f)) {
                        String[] w = line.strip().split("\\s+", 2);
                        if (w.length == 2 && (w[0].equals("path-exclude") || w[0].equals("path-include"))) {
                            // dpkg's fnmatch lets * cross '/', a Java glob needs ** for that
                            PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + w[1].replace("*", "**"));
                            (w[0].equals("path-exclude") ? excludes : includes).add(m);
                        }
                    }
                }
            }
        }
        return List.of(p -> excludes.stream().anyMatch(m -> m.matches(p)) && includes.stream().noneMatch(m -> m.matches(p)));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void copyKeyMaterial(Path from, String name) throws Exception {
        Path to = Path.of("/etc/tlsjail", name);
        Files.copy(from, to);
        Files.setPosixFilePermissions(to, PosixFilePermissions.fromString("rw-r-----"));
        assertThat(run("chgrp", "tlsjail", to.toString()).exit()).isZero();
    }

    /**
     * dpkg, waiting (bounded) while another package manager holds the lock. No --force-conf*:
     * stdin is /dev/null, so a conffile question would fail the run instead of being answered.
     */
    private Result dpkg(String... args) throws Exception {
        return dpkgWithEnv(null, args);
    }

    /** {@code env}: null or {name, value} for dpkg and so its maintainer scripts. */
    private Result dpkgWithEnv(String[] env, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("dpkg"));
        cmd.addAll(List.of(args));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (true) {
            Result r = runWithEnv(env, cmd.toArray(String[]::new));
            if (r.exit() == 0 || !r.err().contains("lock") || System.nanoTime() > deadline) {
                return r;
            }
            Thread.sleep(1000);
        }
    }

    private Result tlsjail(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(LAUNCHER.toString()));
        cmd.addAll(List.of(args));
        return run(cmd.toArray(String[]::new));
    }

    private Result sClient(int port, String source, DemoPki.Layout pki) throws Exception {
        return run("openssl", "s_client", "-connect", "127.0.0.1:" + port, "-bind", source + ":0",
                "-CAfile", pki.caCertificate().toString(), "-tls1_2");
    }

    /** The installed daemon as user tlsjail, as the unit runs it (no systemd here: setpriv). */
    private Process startAsTlsjail() throws Exception {
        Path portFile = STATE.resolve("tlsjail.port");
        Files.deleteIfExists(portFile);
        Path out = Files.createTempFile(work, "daemon", ".out");
        Process p = new ProcessBuilder("setpriv", "--reuid=tlsjail", "--regid=tlsjail", "--init-groups",
                LAUNCHER.toString(), "run", "--config", CONFFILE.toString())
                .directory(new File("/")).redirectErrorStream(true).redirectOutput(out.toFile())
                .redirectInput(new File("/dev/null")).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new AssertionError("tlsjail run exited with " + p.exitValue() + ":\n" + Files.readString(out));
            }
            if (Files.exists(portFile) && !Files.readString(portFile).isBlank()) {
                assertThat(Files.getOwner(portFile).getName()).as("the daemon runs as tlsjail").isEqualTo("tlsjail");
                return p;
            }
            Thread.sleep(100);
        }
        p.destroyForcibly();
        throw new AssertionError("tlsjail did not start within 180 s:\n" + Files.readString(out));
    }

    private void awaitBanned(String source) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        Result banned;
        do {
            banned = tlsjail("banned");
            if (banned.out().contains(source)) {
                return;
            }
            Thread.sleep(200);
        } while (System.nanoTime() < deadline);
        throw new AssertionError(source + " not banned: " + banned.all());
    }

    private static void stop(Process p) throws InterruptedException {
        p.destroy(); // SIGTERM to setpriv's exec'd JVM: orderly stop, the journal flushed
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** Whatever happened: purge, remove the operator files and the user, so the machine is as before. */
    private void cleanUp() throws Exception {
        if (run("dpkg-query", "-W", "-f=${Status}", "tlsjail").out().contains("installed")) {
            dpkg("--purge", "tlsjail");
        }
        for (String f : OPERATOR_FILES) {
            Files.deleteIfExists(Path.of("/etc/tlsjail", f));
        }
        Path etc = Path.of("/etc/tlsjail");
        if (Files.isDirectory(etc)) {
            try (Stream<Path> s = Files.list(etc)) {
                if (s.findAny().isEmpty()) {
                    Files.delete(etc);
                }
            }
        }
        if (run("getent", "passwd", "tlsjail").exit() == 0) {
            run("deluser", "--system", "--quiet", "tlsjail");
        }
    }

    static Result run(String... cmd) throws Exception {
        return runWithEnv(null, cmd);
    }

    /** {@code env}: null or {name, value} to add to the command's environment. */
    static Result runWithEnv(String[] env, String... cmd) throws Exception {
        Path out = Files.createTempFile("deb-it", ".out");
        Path err = Files.createTempFile("deb-it", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(new File("/dev/null"));
            pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
            if (env != null) {
                pb.environment().put(env[0], env[1]);
            }
            Process p = pb.start();
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("timed out: " + String.join(" ", cmd));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
