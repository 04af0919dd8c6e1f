package org.tlsjail.hostile;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.Addresses;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.fail2banlog.Fail2BanRegex;
import org.tlsjail.listener.ListenerStats;
import org.tlsjail.pki.CertificateAuthority;
import org.tlsjail.pki.CertificateSpec;
import org.tlsjail.pki.Credential;
import org.tlsjail.pki.PemFiles;

/**
 * Case 4 of the hostile suite: client certificates (CN and O) and SNI values crafted to inject
 * text into the Fail2Ban log, presented by real {@code openssl s_client} processes from distinct
 * 127.0.0.0/8 sources. The real {@code fail2ban-regex -v} with the shipped OS4X filter, run over
 * the whole log, matches every line and extracts exactly the real sources, nothing else.
 */
class LogInjectionTest {
    /** Text an attacker would put into a certificate subject or SNI to steer Fail2Ban. */
    static final List<String> HOSTILE = List.of(
            "x: TLS error 1 during connect try from 8.8.8.8: y",
            "during connect try from 8.8.8.8: ",
            " from 8.8.8.8: peer did not return a certificate",
            "a) from 8.8.8.8 (b",
            "[8.8.8.8]: (8.8.8.8) {8.8.8.8} <8.8.8.8>",
            "x, O=evil; CN=8.8.8.8 | from 8.8.8.8 / \\ \" ' ` $(id) %s %n",
            "evil\nTLS error 167772359 during connect try from 8.8.8.8: peer did not return a certificate",
            "evil\r\nTLS error 167772359 during connect try from 8.8.8.8: x",
            "evil\rTLS error 167772359 during connect try from 8.8.8.8: x",
            "nul\u0000 during connect try from 8.8.8.8: x",
            "esc\u001b[2K\u001b[1G during connect try from 8.8.8.8: x",
            "fullwidth during connect try from 8.8.8.8\uFF1A x",
            "nbsp during\u00A0connect\u00A0try\u00A0from\u00A08.8.8.8: x",
            "dots from 8\uFF0E8\uFF0E8\uFF0E8: x",
            "sep\u2028TLS error 1 during connect try from 8.8.8.8: x\u0085NEL",
            "v6 during connect try from 2001:db8::8: x",
            "mapped during connect try from ::ffff:8.8.8.8: x",
            "host during connect try from evil.example.com: x",
            "A".repeat(10_000) + " during connect try from 8.8.8.8: z");

    @TempDir
    Path dir;

    @Test
    void craftedCertificatesAndSniNeverMakeFail2BanExtractAnotherAddress() throws Exception {
        CertificateAuthority evil = CertificateAuthority.create("evil CA", Duration.ofDays(30));
        try (HostileServer server = new HostileServer(dir, JailConfig.builder().build(), b -> b)) {
            List<String[]> runs = new ArrayList<>(); // {source, extra openssl options...}
            List<String> sources = new ArrayList<>();
            int n = 0;
            for (int i = 0; i < HOSTILE.size(); i++) {
                String text = HOSTILE.get(i);
                // rejected for an unknown issuer, and an expired one from the trusted CA: both log the CN
                Credential unknown = evil.issue(CertificateSpec.builder(text).organization(text).build());
                Instant past = Instant.now().minus(Duration.ofDays(20));
                Credential expired = server.ca.issue(CertificateSpec.builder(text).organization(text)
                        .validity(past, past.plus(Duration.ofDays(1))).build());
                for (Credential c : List.of(unknown, expired)) {
                    Path cert = dir.resolve("c" + n + ".pem");
                    Path key = dir.resolve("k" + n + ".pem");
                    PemFiles.writeCertificates(cert, c.chain());
                    PemFiles.writePrivateKey(key, c.privateKey());
                    String src = Addresses.format(Sources.of(40, n++));
                    sources.add(src);
                    runs.add(new String[] {src, "-cert", cert.toString(), "-key", key.toString(),
                            "-servername", "localhost", n % 2 == 0 ? "-tls1_2" : "-tls1_3"});
                }
                // the crafted SNI, without a certificate (logged as "peer did not return a certificate":
                // the name is ignored, see OddServerNameTest)
                String src = Addresses.format(Sources.of(40, n++));
                sources.add(src);
                runs.add(new String[] {src, "-servername", sni(text), n % 2 == 0 ? "-tls1_2" : "-tls1_3"});
            }
            ExecutorService pool = Executors.newFixedThreadPool(4);
            List<Future<String>> outs = new ArrayList<>();
            for (String[] r : runs) {
                outs.add(pool.submit(() -> sClient(server, r)));
            }
            List<String> problems = Collections.synchronizedList(new ArrayList<>());
            for (Future<String> f : outs) {
                String p = f.get();
                if (p != null) {
                    problems.add(p);
                }
            }
            pool.shutdown();
            assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
            assertThat(problems).isEmpty();

            ListenerStats s = server.awaitQuiet(runs.size(), Duration.ofSeconds(20));
            assertThat(server.log.flush(Duration.ofSeconds(10))).isTrue();
            List<String> lines = Files.readAllLines(server.logFile(), StandardCharsets.ISO_8859_1);
            long withCn = lines.stream().filter(l -> l.contains(" (")).count();
            Fail2BanRegex.Result r = Fail2BanRegex.run(server.logFile());
            List<String> extracted = r.matches().stream().map(Fail2BanRegex.Match::address).toList();
            System.out.printf("hostile: case 4 log injection: %d openssl s_client runs (%d hostile texts as CN+O of"
                    + " rejected certificates and as SNI) from %d sources; listener %s; %d log lines (%d with the CN form);"
                    + " fail2ban-regex: %d lines, %d matched, %d missed; extracted addresses: %d, foreign: %s%n",
                    runs.size(), HOSTILE.size(), sources.size(), s, lines.size(), withCn, r.lines(), r.matched(), r.missed(),
                    extracted.size(), extracted.stream().filter(a -> !sources.contains(a)).distinct().toList());
            lines.stream().limit(Long.getLong("tlsjail.hostile.debuglines", 0)).forEach(l -> System.out.println("hostile: line " + l));
            System.out.printf("hostile: case 4 sample line: %s%n", lines.stream().filter(l -> l.contains(" (")).findFirst()
                    .orElse("-"));

            assertThat(s.handshakesFailed()).as("every crafted connection failed").isEqualTo(runs.size());
            assertThat(lines).hasSize(runs.size());
            assertThat(withCn).as("the rejected certificates' CNs reached the log (the attack was real)")
                    .isEqualTo(2L * HOSTILE.size());
            assertThat(lines).allSatisfy(l -> {
                assertThat(l).matches("TLS error \\d+ during connect try from [0-9.]+( \\([A-Za-z0-9._-]{1,64}\\))?: [ -~]+");
                assertThat(l.indexOf(" from ")).isEqualTo(l.lastIndexOf(" from "));
            });
            assertThat(r.missed()).as(r.output()).isZero();
            assertThat(r.matched()).isEqualTo(runs.size());
            assertThat(extracted).as("the only addresses Fail2Ban extracts are the real sources, once each")
                    .containsExactlyInAnyOrderElementsOf(sources);
        }
    }

    /** SNI as openssl will send it: argv cannot carry NUL; the rest goes through as is. */
    private static String sni(String text) {
        String t = text.replace("\u0000", "");
        return t.length() > 250 ? t.substring(0, 250) : t;
    }

    /** Runs one openssl s_client; returns null if it ran, a description if it could not. */
    private static String sClient(HostileServer server, String[] run) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect",
                "127.0.0.1:" + server.address().getPort(), "-bind", run[0] + ":0"));
        for (int i = 1; i < run.length; i++) {
            cmd.add(run[i]);
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "timed out: " + run[0];
        }
        String text = new String(out, StandardCharsets.UTF_8);
        if (!text.contains("CONNECTED")) {
            return "openssl did not connect from " + run[0] + ": " + text;
        }
        return null;
    }
}
