package org.tlsjail.bench.memory;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ClassHistogramTest {
    private static final String BEFORE = """
             num     #instances         #bytes  class name (module)
            -------------------------------------------------------
               1:          1000          24000  java.lang.String (java.base@17.0.15)
               2:            10            640  [J (java.base@17.0.15)
            Total          1010          24640
            """;
    private static final String AFTER = """
             num     #instances         #bytes  class name (module)
            -------------------------------------------------------
               1:        101000        2424000  java.lang.String (java.base@17.0.15)
               2:        100010        3200640  [J (java.base@17.0.15)
               3:        100000        1600000  java.lang.Integer (java.base@17.0.15)
            Total        301010        7224640
            """;

    @Test
    void differenceIsPerClassAndPerKey() {
        String d = ClassHistogram.parse(AFTER).minus(ClassHistogram.parse(BEFORE)).describe(100_000, 2);
        assertThat(d.split("\n")).containsExactly(
                "[J|100000|3200000|32.0",
                "java.lang.String|100000|2400000|24.0",
                "(all classes)|-|7200000|72.0");
    }
}
