package org.tlsjail.bench.memory;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.management.JMException;
import javax.management.ObjectName;

/**
 * Live objects by class (bytes and instance count), as {@code jcmd <pid> GC.class_histogram}
 * prints them, taken in-process through the DiagnosticCommand MBean (which runs a full GC first).
 */
final class ClassHistogram {
    record Entry(String className, long instances, long bytes) {
    }

    private final Map<String, Entry> byClass;

    private ClassHistogram(Map<String, Entry> byClass) {
        this.byClass = byClass;
    }

    static ClassHistogram take() {
        try {
            Object text = ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "gcClassHistogram",
                    new Object[] {new String[0]}, new String[] {String[].class.getName()});
            return parse((String) text);
        } catch (JMException e) {
            throw new IllegalStateException("GC.class_histogram failed", e);
        }
    }

    /** Lines look like {@code "   1:   123456   7890123  java.lang.String (java.base@17.0.15)"}. */
    static ClassHistogram parse(String text) {
        Map<String, Entry> m = new HashMap<>();
        for (String line : text.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 4 || !f[0].endsWith(":")) {
                continue;
            }
            try {
                m.put(f[3], new Entry(f[3], Long.parseLong(f[1]), Long.parseLong(f[2])));
            } catch (NumberFormatException e) {
                // header or total line
            }
        }
        return new ClassHistogram(m);
    }

    ClassHistogram minus(ClassHistogram earlier) {
        Map<String, Entry> d = new HashMap<>();
        byClass.forEach((name, e) -> {
            Entry old = earlier.byClass.get(name);
            long n = e.instances() - (old == null ? 0 : old.instances());
            long b = e.bytes() - (old == null ? 0 : old.bytes());
            d.put(name, new Entry(name, n, b));
        });
        return new ClassHistogram(d);
    }

    /** The {@code top} classes by bytes, one per line: {@code class|instances|bytes|bytes per key}. */
    String describe(long keys, int top) {
        List<Entry> entries = new ArrayList<>(byClass.values());
        entries.sort((a, b) -> Long.compare(b.bytes(), a.bytes()));
        StringBuilder sb = new StringBuilder();
        long total = 0;
        for (Entry e : entries) {
            total += e.bytes();
        }
        for (Entry e : entries.subList(0, Math.min(top, entries.size()))) {
            sb.append(String.format(Locale.ROOT, "%s|%d|%d|%.1f%n", e.className(), e.instances(), e.bytes(),
                    e.bytes() / (double) keys));
        }
        sb.append(String.format(Locale.ROOT, "(all classes)|-|%d|%.1f%n", total, total / (double) keys));
        return sb.toString();
    }
}
