package org.tlsjail.listener;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.FailureOutcome;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.fail2banlog.Fail2BanLog;
import org.tlsjail.fail2banlog.Fail2BanLogConfig;
import org.tlsjail.fail2banlog.Fail2BanRegex;
import org.tlsjail.pki.DemoPki;
import org.tlsjail.tls.ClientAuth;
import org.tlsjail.tls.KeySource;
import org.tlsjail.tls.ServerTls;
import org.tlsjail.tls.TlsSettings;
import org.tlsjail.tls.TrustSource;

/** Reloading TLS settings at run time, optional client auth, and an IPv6 source (::1). */
class TlsListenerReloadTest {
    @TempDir
    Path dir;

    @Test
    void optionalThenRequiredOverIpv6() throws Exception {
        DemoPki.Layout pki = DemoPki.ensure(dir.resolve("pki"));
        String ca = pki.caCertificate().toString();
        TlsSettings optional = TlsSettings.of(KeySource.pkcs12(pki.serverPkcs12(), pki.pkcs12Password()),
                TrustSource.pemBundle(pki.caCertificate())).withClientAuth(ClientAuth.OPTIONAL);
        BanEngine engine = new BanEngine(JailConfig.defaults(), InstantSource.system());
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        Path logFile = dir.resolve("f2b.log");
        try (Fail2BanLog log = Fail2BanLog.open(Fail2BanLogConfig.of(logFile), InstantSource.system());
             TlsListener listener = TlsListener.builder(ServerTls.load(optional, InstantSource.system()), engine,
                             (socket, remote, chain) -> events.add("handled " + chain.size()))
                     .config(ListenerConfig.builder().bind(new InetSocketAddress(InetAddress.getByName("::1"), 0)).build())
                     .observer(log)
                     .observer(new HandshakeObserver() {
                         @Override
                         public void onFailure(HandshakeFailure f, FailureOutcome o) {
                             events.add("failed " + f.kind() + " " + f.remote().getAddress().getHostAddress());
                         }
                     })
                     .build().start()) {
            assertThat(sClient(listener.localAddress(), ca)).contains("Verify return code: 0 (ok)");
            assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("handled 0");

            listener.updateTls(ServerTls.load(optional.withClientAuth(ClientAuth.REQUIRED), InstantSource.system()));
            sClient(listener.localAddress(), ca);
            assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("failed NO_CERTIFICATE 0:0:0:0:0:0:0:1");
            assertThat(listener.stats().handshakesSucceeded()).isEqualTo(1);
            assertThat(listener.stats().handshakesFailed()).isEqualTo(1);
            assertThat(log.flush(Duration.ofSeconds(10))).isTrue();
        }
        assertThat(Files.readAllLines(logFile)).singleElement().asString()
                .startsWith("TLS error 167772359 during connect try from ::1: peer did not return a certificate [");
        Fail2BanRegex.Result r = Fail2BanRegex.run(logFile);
        assertThat(r.matches()).extracting(Fail2BanRegex.Match::address).containsExactly("::1");
    }

    private static String sClient(InetSocketAddress server, String ca) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", "[::1]:" + server.getPort(), "-tls1_3",
                "-CAfile", ca));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("s_client timed out");
        }
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }

}
