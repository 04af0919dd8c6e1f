package org.tlsjail.daemon;

import java.util.List;
import org.tlsjail.banengine.BanRecord;

/** The two printed forms of {@code tlsjail banned}: aligned text and JSON. */
final class BanListing {
    private BanListing() {
    }

    static String text(List<BanRecord> bans) {
        return text(bans, k -> "");
    }

    /** @param origin the cluster node that decided each ban, "" when not in cluster mode */
    static String text(List<BanRecord> bans, java.util.function.Function<org.tlsjail.banengine.SourceKey, String> origin) {
        StringBuilder sb = new StringBuilder();
        for (BanRecord b : bans) {
            String node = origin.apply(b.key());
            sb.append(b.key()).append("\tsince ").append(b.since())
                    .append("\tuntil ").append(b.isPermanent() ? "permanent" : b.until().toString())
                    .append("\tbans ").append(b.banCount())
                    .append("\treason ").append(printable(b.reason()))
                    .append(node.isEmpty() ? "" : "\tnode " + printable(node)).append('\n');
        }
        return sb.toString();
    }

    static String json(List<BanRecord> bans) {
        return json(bans, k -> "");
    }

    static String json(List<BanRecord> bans, java.util.function.Function<org.tlsjail.banengine.SourceKey, String> origin) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < bans.size(); i++) {
            BanRecord b = bans.get(i);
            String node = origin.apply(b.key());
            sb.append(i == 0 ? "\n  " : ",\n  ").append("{\"source\":").append(quote(b.key().toString()))
                    .append(",\"since\":").append(quote(b.since().toString()))
                    .append(",\"until\":").append(b.isPermanent() ? "null" : quote(b.until().toString()))
                    .append(",\"permanent\":").append(b.isPermanent())
                    .append(",\"bans\":").append(b.banCount())
                    .append(",\"reason\":").append(quote(b.reason() == null ? "" : b.reason()))
                    .append(node.isEmpty() ? "" : ",\"node\":" + quote(node)).append('}');
        }
        return sb.append(bans.isEmpty() ? "]\n" : "\n]\n").toString();
    }

    static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    private static String printable(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && sb.length() < 200; i++) {
            char c = s.charAt(i);
            sb.append(c >= 0x20 && c != 0x7f ? c : '?');
        }
        return sb.toString();
    }
}
