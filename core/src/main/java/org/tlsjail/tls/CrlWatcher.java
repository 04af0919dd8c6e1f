package org.tlsjail.tls;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Looks at the CRL files every {@code checkInterval} on its own thread, so a handshake never
 * waits for a stat() or a parse; a changed file is read and swapped in at once, without a reload.
 */
final class CrlWatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CrlWatcher.class);

    private final CrlStore store;
    private final ScheduledExecutorService timer;

    CrlWatcher(CrlStore store) {
        this.store = store;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tlsjail-crl-watch");
            t.setDaemon(true);
            return t;
        });
        long ms = store.settings().checkInterval().toMillis();
        timer.scheduleWithFixedDelay(this::poll, ms, ms, TimeUnit.MILLISECONDS);
    }

    private void poll() {
        try {
            if (store.refreshIfChanged()) {
                LOG.info("crl: files changed; {} CRLs now in force", store.size());
            }
        } catch (TlsSetupException e) {
            LOG.warn("{}; the CRLs read before stay in force until the files change again", e.getMessage());
        } catch (RuntimeException e) {
            // never let one bad read end the watching (a scheduled task that throws is not run again)
            LOG.warn("crl: cannot re-read the CRLs ({}); the CRLs read before stay in force", e.toString());
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
