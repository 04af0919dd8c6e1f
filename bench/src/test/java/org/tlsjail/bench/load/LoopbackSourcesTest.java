package org.tlsjail.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LoopbackSourcesTest {
    @Test
    void rolesGetDistinctLoopbackAddressesAndWrap() {
        LoopbackSources banned = new LoopbackSources(1, 300);
        assertThat(banned.get(0).getHostAddress()).isEqualTo("127.1.0.1");
        assertThat(banned.get(299).getHostAddress()).isEqualTo("127.1.1.44");
        assertThat(banned.get(300)).isEqualTo(banned.get(0));
        Set<InetAddress> seen = new HashSet<>();
        for (int i = 0; i < 300; i++) {
            InetAddress a = banned.next();
            assertThat(a.isLoopbackAddress()).isTrue();
            seen.add(a);
        }
        assertThat(seen).hasSize(300);
        assertThat(new LoopbackSources(2, 1).get(0).getHostAddress()).isEqualTo("127.2.0.1");
    }

    @Test
    void neverLeavesLoopback() {
        assertThatThrownBy(() -> new LoopbackSources(255, 1 << 16)).isInstanceOf(IllegalArgumentException.class);
    }
}
