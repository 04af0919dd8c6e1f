package org.tlsjail.banengine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.Tuple.Tuple3;

/**
 * The table answers like a map through puts, updates, removals, rebuilds and the miss filter in
 * front of its slots: a key is found exactly while it holds a ban end, never after its removal, and
 * a key never put is never found (the filter may only let a lookup through, never turn a ban away).
 */
class BanTablePropertyTest {

    @Property(tries = 300)
    void answersLikeAMap(@ForAll("operations") List<Tuple3<Integer, Long, Boolean>> ops) {
        BanTable table = new BanTable();
        Map<Long, Long> model = new HashMap<>();
        for (Tuple3<Integer, Long, Boolean> op : ops) {
            long lo = op.get1(); // few distinct keys: updates, removals and re-puts of the same key
            long hi = lo * 31;
            if (op.get3()) {
                table.put(hi, lo, op.get2());
                model.put(lo, op.get2());
            } else {
                table.remove(hi, lo);
                model.remove(lo);
            }
        }
        for (long lo = -1; lo < 600; lo++) {
            Long until = model.get(lo);
            assertThat(table.untilOf(lo * 31, lo)).as("key %d", lo).isIn(until == null ? List.of(0L, 1L) : List.of(until));
        }
    }

    @Provide
    Arbitrary<List<Tuple3<Integer, Long, Boolean>>> operations() {
        Arbitrary<Integer> keys = Arbitraries.integers().between(0, 599);
        Arbitrary<Long> untils = Arbitraries.longs().between(2, Long.MAX_VALUE);
        Arbitrary<Boolean> put = Arbitraries.of(true, true, true, false);
        return Arbitraries.integers().between(0, 2_000)
                .flatMap(n -> keys.flatMap(k -> untils.flatMap(u -> put.map(p -> Tuple.of(k, u, p)))).list().ofSize(n));
    }
}
