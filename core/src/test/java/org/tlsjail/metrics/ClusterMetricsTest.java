package org.tlsjail.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.InstantSource;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tlsjail.banengine.BanEngine;
import org.tlsjail.banengine.JailConfig;
import org.tlsjail.cluster.ClusterStatus;

/** The cluster part of /metrics reads the node's status at each scrape and records propagation lag. */
class ClusterMetricsTest {
    @Test
    void clusterFiguresAreScraped() throws Exception {
        try (DaemonMetrics m = new DaemonMetrics(new BanEngine(JailConfig.defaults(), InstantSource.system()), () -> 0)) {
            ClusterStatus[] now = {new ClusterStatus("n1", "redis://127.0.0.1:1", true, List.of("n1", "n2"), 0, null,
                    7, 5, 2, 3, 11, 4, 1)};
            m.observeCluster(() -> now[0]);
            m.observeClusterLag(3);
            m.observeClusterLag(40);
            m.serve("127.0.0.1", 0);
            String text = scrape(m.port());
            assertThat(text).contains("tlsjail_cluster_connected 1.0")
                    .contains("tlsjail_cluster_events_total{direction=\"in\"} 7.0")
                    .contains("tlsjail_cluster_events_total{direction=\"out\"} 5.0")
                    .contains("tlsjail_cluster_invalid_entries_total 2.0")
                    .contains("tlsjail_cluster_redis_errors_total 3.0")
                    .contains("tlsjail_cluster_failures_total{scope=\"shared\"} 11.0")
                    .contains("tlsjail_cluster_failures_total{scope=\"local\"} 4.0")
                    .contains("tlsjail_cluster_pending 1.0")
                    .contains("tlsjail_cluster_propagation_seconds_bucket{le=\"0.005\"} 1")
                    .contains("tlsjail_cluster_propagation_seconds_count 2");
            now[0] = new ClusterStatus("n1", "redis://127.0.0.1:1", false, List.of(), -1, "Connection refused",
                    7, 5, 2, 4, 11, 9, 3);
            assertThat(scrape(m.port())).contains("tlsjail_cluster_connected 0.0");
        }
    }

    private static String scrape(int port) throws Exception {
        return new String(URI.create("http://127.0.0.1:" + port + "/metrics").toURL().openStream().readAllBytes(),
                StandardCharsets.UTF_8);
    }
}
