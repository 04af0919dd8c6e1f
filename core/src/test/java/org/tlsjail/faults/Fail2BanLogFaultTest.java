package org.tlsjail.faults;

import org.tlsjail.testing.RealPeer;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.fail2banlog.Fail2BanLog;
import org.tlsjail.fail2banlog.Fail2BanLogConfig;

/**
 * Case 5: the Fail2Ban log file fails under a running tlsjail (real listener, real Fail2BanLog,
 * real ban engine, failures from raw sockets and openssl s_client). Each fault: tlsjail keeps
 * serving (a partner's mutual-TLS session succeeds) and banning in-process (the third failure
 * bans, the fourth connection is refused), the fault is reported once however many lines fail,
 * and writing resumes when the fault clears. Tests run as root, where chmod 000 stops nothing:
 * "unwritable" is made with {@code chattr +i} and by a directory standing where the file was.
 */
class Fail2BanLogFaultTest {
    /** A whole line as Fail2BanLog writes it (dated form); a torn or glued line does not match. */
    private static final Pattern WELL_FORMED = Pattern.compile("TLS error \\d+ during connect try from 127\\.5\\.\\d+\\.\\d+"
            + "(?: \\([^()]*\\))?: [a-z][ -~]*? \\[\\d{4}-\\d\\d-\\d\\dT[0-9:.]+(?:Z|[+-]\\d\\d:\\d\\d)\\]");
    private static final String FAULT = "Fail2Ban log fault";
    private static final String RESUMED = "is writable again";
    private static final Duration FLUSH = Duration.ofSeconds(10);

    @TempDir
    static Path pkiDir;
    static TestPki pki;

    @TempDir
    Path dir;

    @BeforeAll
    static void pki() throws Exception {
        pki = TestPki.create(pkiDir);
    }

    /** What a fault does to the log; {@link #clear} undoes it. */
    interface Fault {
        void inject(Path logFile) throws Exception;

        void clear(Path logFile) throws Exception;

        /** Extra lines the fault needs before it bites (disk full: the last page still takes some). */
        default long afterInject(Fail2BanLog log, ListenerUnderTest tlsjail, String prefix) throws Exception {
            return 0;
        }
    }

    record Figures(String fault, long linesDuringFault, long failedWrites, long faultReports, long resumeReports,
                   double partnerMsBefore, double partnerMsDuring, boolean bannedDuringFault) {
        void print() {
            System.out.printf("faults: fail2ban-log %-22s lines during fault %3d, failed writes %3d, fault reports %d,"
                            + " resume reports %d, banned in-process %s, partner session %.1f ms before / %.1f ms during%n",
                    fault, linesDuringFault, failedWrites, faultReports, resumeReports, bannedDuringFault,
                    partnerMsBefore, partnerMsDuring);
        }
    }

    /**
     * The common scenario. Sources are 127.5.{block}.x: .1 before the fault, .2 three failures
     * (banned, then refused), .3 one openssl failure, .4 the partner, .5 after the fault clears.
     */
    private Figures exercise(String name, int block, Path logFile, Fault fault, boolean isFault)
            throws Exception {
        String p = "127.5." + block + ".";
        try (LogCapture capture = new LogCapture();
             Fail2BanLog log = Fail2BanLog.open(Fail2BanLogConfig.of(logFile), InstantSource.system());
             ListenerUnderTest tlsjail = new ListenerUnderTest(pki, List.of(log))) {
            tlsjail.garbageFrom(p + "1");
            assertThat(log.flush(FLUSH)).isTrue();
            assertThat(Files.readString(logFile)).contains("from " + p + "1: http request");
            double before = tlsjail.partnerSessionMillis(p + "4");

            capture.reset();
            fault.inject(logFile);
            long extra = fault.afterInject(log, tlsjail, p);
            long failedAtStart = log.failedWrites();
            for (int i = 0; i < 3; i++) {
                tlsjail.garbageFrom(p + "2");
            }
            boolean banned = tlsjail.isBanned(p + "2");
            assertThat(banned).as("banned in-process while the log is faulty").isTrue();
            assertThat(tlsjail.refusedFrom(p + "2")).as("fourth connection refused").isTrue();
            tlsjail.sClientWithoutCertificateFrom(p + "3");
            double during = tlsjail.partnerSessionMillis(p + "4");
            assertThat(during).isLessThan(ListenerUnderTest.HANDSHAKE_TIMEOUT.toMillis());
            assertThat(log.flush(FLUSH)).as("the log's writer keeps handling lines during the fault").isTrue();
            long failed = log.failedWrites() - failedAtStart;
            long reports = capture.count(FAULT);

            fault.clear(logFile);
            tlsjail.garbageFrom(p + "5");
            assertThat(log.flush(FLUSH)).isTrue();
            assertThat(Files.readString(logFile)).as("writing resumed after the fault cleared")
                    .contains("from " + p + "5: http request");
            Figures f = new Figures(name, 4 + extra, failed, reports, capture.count(RESUMED), before, during, banned);
            f.print();
            if (isFault) {
                assertThat(failed).as("lines lost to the fault are counted").isEqualTo(4);
                assertThat(reports).as("fault reported once, not per line:\n" + String.join("\n", capture.lines()))
                        .isEqualTo(1);
            } else {
                assertThat(failed).isZero();
                assertThat(reports).isZero();
                assertThat(Files.readString(logFile)).contains("from " + p + "2: http request")
                        .contains("from " + p + "3: peer did not return a certificate");
            }
            assertThat(log.dropped()).isZero();
            assertWellFormed(logFile);
            return f;
        }
    }

    private static void assertWellFormed(Path logFile) throws IOException {
        List<String> lines = Files.readAllLines(logFile);
        assertThat(lines).isNotEmpty().allSatisfy(l -> assertThat(l).matches(WELL_FORMED));
        assertThat(Files.readString(logFile)).endsWith("\n");
    }

    @Test
    void fileDeletedIsRecreated() throws Exception {
        exercise("deleted", 1, dir.resolve("fail2ban.log"), new Fault() {
            public void inject(Path f) throws Exception {
                Files.delete(f);
            }

            public void clear(Path f) {
            }
        }, false);
    }

    @Test
    void fileRenamedIsRecreatedAndTheRenamedOneKeepsItsLines() throws Exception {
        Path renamed = dir.resolve("fail2ban.log.1");
        exercise("renamed", 2, dir.resolve("fail2ban.log"), new Fault() {
            public void inject(Path f) throws Exception {
                Files.move(f, renamed);
            }

            public void clear(Path f) {
            }
        }, false);
        assertThat(Files.readAllLines(renamed)).singleElement().asString().contains("from 127.5.2.1: ");
    }

    @Test
    void fileMadeImmutable() throws Exception {
        Path file = dir.resolve("fail2ban.log");
        Files.writeString(file, "");
        RealPeer.require(run("chattr", "+i", file.toString()) == 0
                        && run("chattr", "-i", file.toString()) == 0,
                "chattr +i is not supported on " + dir + " (file system without inode flags)");
        try {
            exercise("immutable (chattr +i)", 3, file, new Fault() {
                public void inject(Path f) throws Exception {
                    assertThat(run("chattr", "+i", f.toString())).isZero();
                }

                public void clear(Path f) throws Exception {
                    assertThat(run("chattr", "-i", f.toString())).isZero();
                }
            }, true);
        } finally {
            run("chattr", "-i", file.toString());
        }
    }

    @Test
    void directoryWhereTheFileWas() throws Exception {
        exercise("replaced by a directory", 4, dir.resolve("fail2ban.log"), new Fault() {
            public void inject(Path f) throws Exception {
                Files.delete(f);
                Files.createDirectory(f);
            }

            public void clear(Path f) throws Exception {
                Files.delete(f);
            }
        }, true);
    }

    @Test
    void fifoWhereTheFileWas() throws Exception {
        exercise("replaced by a FIFO", 5, dir.resolve("fail2ban.log"), new Fault() {
            public void inject(Path f) throws Exception {
                Files.delete(f);
                assertThat(run("mkfifo", f.toString())).isZero();
            }

            public void clear(Path f) throws Exception {
                Files.delete(f);
            }
        }, true);
    }

    @Test
    void directoryRemoved() throws Exception {
        Path sub = Files.createDirectory(dir.resolve("logdir"));
        exercise("directory removed", 6, sub.resolve("fail2ban.log"), new Fault() {
            public void inject(Path f) throws Exception {
                Files.delete(f);
                Files.delete(sub);
            }

            public void clear(Path f) throws Exception {
                Files.createDirectory(sub);
            }
        }, true);
    }

    @Test
    void diskFull() throws Exception {
        Path mount = Files.createDirectory(dir.resolve("small-fs"));
        int rc = run("mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", mount.toString());
        RealPeer.require(rc == 0, "cannot mount a 64k tmpfs (needs root / CAP_SYS_ADMIN): mount exited " + rc);
        Path filler = mount.resolve("filler");
        try {
            exercise("disk full (64k tmpfs)", 7, mount.resolve("fail2ban.log"), new Fault() {
                public void inject(Path f) throws Exception {
                    fill(filler);
                }

                public void clear(Path f) throws Exception {
                    Files.delete(filler);
                }

                public long afterInject(Fail2BanLog log, ListenerUnderTest tlsjail, String prefix) throws Exception {
                    return fillLastPage(log, tlsjail, prefix);
                }
            }, true);
        } finally {
            if (run("umount", mount.toString()) != 0) {
                run("umount", "-l", mount.toString());
            }
        }
    }

    /**
     * With the file system full, the log's last page still takes lines; drive real failures
     * (each from its own source, so nobody is banned by them) until a write fails.
     */
    private static long fillLastPage(Fail2BanLog log, ListenerUnderTest tlsjail, String prefix) throws Exception {
        for (int i = 100; i < 250; i++) {
            tlsjail.garbageFrom(prefix + i);
            assertThat(log.flush(FLUSH)).isTrue();
            if (log.failedWrites() > 0) {
                return i - 99;
            }
        }
        throw new AssertionError("150 lines fitted on a full 64k tmpfs");
    }

    private static void fill(Path filler) throws IOException {
        byte[] block = new byte[1024];
        try (var out = Files.newOutputStream(filler, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            while (true) {
                out.write(block);
                out.flush();
            }
        } catch (IOException full) {
            if (!String.valueOf(full.getMessage()).contains("No space left")) {
                throw full;
            }
        }
    }

    /** Runs a system tool; a missing one (e.g. chattr without e2fsprogs) is exit -1, so the case is skipped. */
    static int run(String... cmd) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException missing) {
            System.out.println("faults: cannot run " + cmd[0] + ": " + missing.getMessage());
            return -1;
        }
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        if (p.exitValue() != 0) {
            System.out.println("faults: `" + String.join(" ", cmd) + "` exited " + p.exitValue() + ": " + out.strip());
        }
        return p.exitValue();
    }
}
