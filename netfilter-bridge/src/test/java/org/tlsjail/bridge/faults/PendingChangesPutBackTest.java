package org.tlsjail.bridge.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.tlsjail.bridge.PendingChanges;

/**
 * Regression (found by core's BridgeFaultTest, attempt mode against a hanging Fail2Ban): a batch
 * that failed to reach the server was put back with "the newer queued change wins", which for
 * counted attempts silently lost the older count.
 */
class PendingChangesPutBackTest {

    @Test
    void putBackMergesWithWhatWasQueuedMeanwhile() {
        PendingChanges<String, Integer> q = new PendingChanges<>(10);
        q.offer("a", 1, Integer::sum);
        q.offer("b", 5, Integer::sum);
        List<Map.Entry<String, Integer>> inFlight = q.drain(10);
        // while the batch was on its way to a server that never answered, more arrived for "a"
        q.offer("a", 2, Integer::sum);
        q.offer("c", 7, Integer::sum);

        q.putBack(inFlight, Integer::sum);

        assertThat(q.drain(10)).containsExactly(Map.entry("a", 3), Map.entry("b", 5), Map.entry("c", 7));
        assertThat(q.dropped()).isZero();
    }

    @Test
    void plainPutBackStillLetsTheNewerChangeWin() {
        PendingChanges<String, String> q = new PendingChanges<>(10);
        q.offer("a", "ban", (o, n) -> n);
        List<Map.Entry<String, String>> inFlight = q.drain(10);
        q.offer("a", "unban", (o, n) -> n);

        q.putBack(inFlight);

        assertThat(q.drain(10)).containsExactly(Map.entry("a", "unban"));
    }
}
