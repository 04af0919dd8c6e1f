package org.tlsjail.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PendingChangesTest {

    @Test
    void laterChangesForAKeyReplaceEarlierOnesAndKeepItsPlace() {
        PendingChanges<String, String> q = new PendingChanges<>(10);
        q.offer("a", "ban", (o, n) -> n);
        q.offer("b", "ban", (o, n) -> n);
        q.offer("a", "unban", (o, n) -> n);
        assertThat(q.size()).isEqualTo(2);
        assertThat(q.drain(10)).containsExactly(Map.entry("a", "unban"), Map.entry("b", "ban"));
        assertThat(q.size()).isZero();
    }

    @Test
    void aFullQueueDropsNewKeysButStillCoalescesKnownOnes() {
        PendingChanges<Integer, Integer> q = new PendingChanges<>(3);
        for (int i = 0; i < 10; i++) {
            q.offer(i, 1, Integer::sum);
        }
        assertThat(q.size()).isEqualTo(3);
        assertThat(q.dropped()).isEqualTo(7);
        assertThat(q.offer(0, 1, Integer::sum)).isTrue();
        assertThat(q.drain(1)).containsExactly(Map.entry(0, 2));
    }

    @Test
    void putBackKeepsUnsentChangesButANewerChangeWins() {
        PendingChanges<String, String> q = new PendingChanges<>(10);
        q.offer("a", "ban", (o, n) -> n);
        q.offer("b", "ban", (o, n) -> n);
        List<Map.Entry<String, String>> taken = q.drain(10);
        q.offer("b", "unban", (o, n) -> n); // arrives while the batch is failing
        q.putBack(taken);
        assertThat(q.drain(10)).containsExactly(Map.entry("a", "ban"), Map.entry("b", "unban"));
    }

    @Test
    void aClosedQueueRefusesChanges() {
        PendingChanges<String, String> q = new PendingChanges<>(10);
        q.close();
        assertThat(q.offer("a", "ban", (o, n) -> n)).isFalse();
        assertThat(q.size()).isZero();
    }
}
