package org.tlsjail.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * One YAML mapping read strictly: every key must be asked for exactly once by the schema, every
 * value must have the expected type, and every complaint carries the file, line and column of the
 * node at fault. Reads snakeyaml's node graph only, so no object is ever constructed from YAML.
 */
final class YamlSection {
    private static final Set<Tag> PLAIN_TAGS = Set.of(Tag.STR, Tag.INT, Tag.BOOL, Tag.FLOAT, Tag.NULL,
            Tag.MAP, Tag.SEQ, Tag.TIMESTAMP);

    private final String source;
    private final String prefix;
    private final Node node;
    private final Map<String, NodeTuple> entries = new LinkedHashMap<>();
    private final Set<String> consumed = new LinkedHashSet<>();

    private YamlSection(String source, String prefix, Node node, Map<String, NodeTuple> entries) {
        this.source = source;
        this.prefix = prefix;
        this.node = node;
        this.entries.putAll(entries);
    }

    /** The document root; a null node (empty file) is an empty mapping. */
    static YamlSection root(String source, Node node) throws ConfigException {
        if (node == null || isNull(node)) {
            return new YamlSection(source, "", node, Map.of());
        }
        return of(source, "", node);
    }

    private static YamlSection of(String source, String prefix, Node node) throws ConfigException {
        checkTag(source, prefix, node);
        if (!(node instanceof MappingNode)) {
            throw error(source, node, prefix.isEmpty() ? null : prefix,
                    "expected a mapping of keys, got " + describe(node));
        }
        Map<String, NodeTuple> entries = new LinkedHashMap<>();
        for (NodeTuple t : ((MappingNode) node).getValue()) {
            Node k = t.getKeyNode();
            if (!(k instanceof ScalarNode) || k.getTag().equals(Tag.NULL)) {
                throw error(source, k, prefix.isEmpty() ? null : prefix, "keys must be plain names");
            }
            checkTag(source, prefix, k);
            String name = ((ScalarNode) k).getValue();
            if (entries.containsKey(name)) {
                throw error(source, k, join(prefix, name), "duplicate key");
            }
            entries.put(name, t);
        }
        return new YamlSection(source, prefix, node, entries);
    }

    String key(String name) {
        return join(prefix, name);
    }

    boolean has(String name) {
        NodeTuple t = entries.get(name);
        return t != null && !isNull(t.getValueNode());
    }

    /** The value node of {@code name}, or null when absent or explicitly null. */
    Node value(String name) throws ConfigException {
        consumed.add(name);
        NodeTuple t = entries.get(name);
        if (t == null || isNull(t.getValueNode())) {
            return null;
        }
        checkTag(source, key(name), t.getValueNode());
        return t.getValueNode();
    }

    /** A nested section; absent or null reads as an empty one. */
    YamlSection section(String name) throws ConfigException {
        Node v = value(name);
        if (v == null) {
            return new YamlSection(source, key(name), null, Map.of());
        }
        return of(source, key(name), v);
    }

    String string(String name, String dflt) throws ConfigException {
        Node v = value(name);
        if (v == null) {
            return dflt;
        }
        if (!(v instanceof ScalarNode)) {
            throw error(v, name, "expected a single value, got " + describe(v));
        }
        String s = ((ScalarNode) v).getValue();
        if (s.isEmpty()) {
            throw error(v, name, "must not be empty");
        }
        if (s.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw error(v, name, "must not contain control characters");
        }
        return s;
    }

    int integer(String name, int dflt, int min, int max) throws ConfigException {
        Node v = value(name);
        if (v == null) {
            return dflt;
        }
        if (!(v instanceof ScalarNode) || !v.getTag().equals(Tag.INT)
                || !((ScalarNode) v).getValue().matches("[+-]?[0-9]{1,18}")) {
            throw error(v, name, "expected a whole number, got " + describe(v));
        }
        long n = Long.parseLong(((ScalarNode) v).getValue().replace("+", ""));
        if (n < min || n > max) {
            throw error(v, name, "must be between " + min + " and " + max + ", got " + n);
        }
        return (int) n;
    }

    double number(String name, double dflt) throws ConfigException {
        Node v = value(name);
        if (v == null) {
            return dflt;
        }
        return numberOf(v, name);
    }

    private double numberOf(Node v, String name) throws ConfigException {
        if (!(v instanceof ScalarNode) || !(v.getTag().equals(Tag.INT) || v.getTag().equals(Tag.FLOAT))
                || !((ScalarNode) v).getValue().matches("[+-]?[0-9]{1,12}(\\.[0-9]{1,12})?")) {
            throw error(v, name, "expected a number, got " + describe(v));
        }
        return Double.parseDouble(((ScalarNode) v).getValue());
    }

    boolean bool(String name, boolean dflt) throws ConfigException {
        Node v = value(name);
        if (v == null) {
            return dflt;
        }
        if (!(v instanceof ScalarNode) || !v.getTag().equals(Tag.BOOL)) {
            throw error(v, name, "expected true or false, got " + describe(v));
        }
        String s = ((ScalarNode) v).getValue().toLowerCase(java.util.Locale.ROOT);
        return s.equals("true") || s.equals("yes") || s.equals("on") || s.equals("y");
    }

    /** A list of plain values; a single scalar reads as a one-element list (as Fail2Ban's ignoreip). */
    List<String> strings(String name, List<String> dflt) throws ConfigException {
        Node v = value(name);
        if (v == null) {
            return dflt;
        }
        List<String> out = new ArrayList<>();
        if (v instanceof ScalarNode) {
            for (String part : ((ScalarNode) v).getValue().trim().split("[\\s,]+")) {
                if (!part.isEmpty()) {
                    out.add(part);
                }
            }
            return out;
        }
        if (!(v instanceof SequenceNode)) {
            throw error(v, name, "expected a list, got " + describe(v));
        }
        List<Node> items = ((SequenceNode) v).getValue();
        if (items.size() > 10_000) {
            throw error(v, name, "more than 10000 entries");
        }
        for (Node item : items) {
            checkTag(source, key(name), item);
            if (!(item instanceof ScalarNode) || isNull(item) || ((ScalarNode) item).getValue().isEmpty()) {
                throw error(item, name, "list entries must be single values, got " + describe(item));
            }
            out.add(((ScalarNode) item).getValue());
        }
        return out;
    }

    List<Double> numbers(String name, List<Double> dflt) throws ConfigException {
        Node v = value(name);
        if (v == null) {
            return dflt;
        }
        List<Double> out = new ArrayList<>();
        if (v instanceof ScalarNode && v.getTag().equals(Tag.STR)) {
            // Fail2Ban writes multipliers as one space-separated string: "1 2 4 8 16 32 64"
            for (String part : ((ScalarNode) v).getValue().trim().split("\\s+")) {
                if (!part.matches("[0-9]{1,12}(\\.[0-9]{1,12})?")) {
                    throw error(v, name, "'" + part + "' is not a number");
                }
                out.add(Double.parseDouble(part));
            }
            return out;
        }
        if (!(v instanceof SequenceNode)) {
            throw error(v, name, "expected a list of numbers, got " + describe(v));
        }
        for (Node item : ((SequenceNode) v).getValue()) {
            checkTag(source, key(name), item);
            out.add(numberOf(item, name));
        }
        return out;
    }

    /** Every key the schema did not ask for is a mistake: a typo must not silently fall back to a default. */
    void finish() throws ConfigException {
        for (Map.Entry<String, NodeTuple> e : entries.entrySet()) {
            if (!consumed.contains(e.getKey())) {
                throw error(source, e.getValue().getKeyNode(), key(e.getKey()), "unknown key");
            }
        }
    }

    ConfigException error(Node at, String name, String problem) {
        return error(source, at, key(name), problem);
    }

    /** An error at this section's own node (or the file when the section is absent). */
    ConfigException error(String name, String problem) {
        return error(source, node, key(name), problem);
    }

    /**
     * A value refused by the type it was read into (a record's constructor, a parse method), whose
     * message starts with the option it names ({@code "bridge.nftables.port must be ..."}): points at
     * that option's value when this section holds it, else at the section itself.
     */
    ConfigException rejected(IllegalArgumentException e) {
        String msg = String.valueOf(e.getMessage());
        String key = msg.split("[ :]", 2)[0];
        String rest = msg.substring(key.length()).replaceFirst("^[: ]+", "");
        String own = join(prefix, "");
        if (key.startsWith(own) && key.length() > own.length()) {
            return at(source, markOf(key.substring(own.length())), key, rest);
        }
        String section = prefix.isEmpty() ? null : prefix;
        return at(source, markOf(""), section, key.equals(prefix) ? rest : msg);
    }

    Mark markOf(String name) {
        NodeTuple t = entries.get(name);
        if (t != null) {
            return t.getValueNode().getStartMark();
        }
        return node == null ? null : node.getStartMark();
    }

    String source() {
        return source;
    }

    static ConfigException error(String source, Node at, String key, String problem) {
        Mark m = at == null ? null : at.getStartMark();
        return at(source, m, key, problem);
    }

    static ConfigException at(String source, Mark m, String key, String problem) {
        if (m == null) {
            return new ConfigException(source, 0, 0, key, problem);
        }
        return new ConfigException(source, m.getLine() + 1, m.getColumn() + 1, key, problem);
    }

    static void checkTag(String source, String key, Node n) throws ConfigException {
        if (!PLAIN_TAGS.contains(n.getTag())) {
            throw error(source, n, key.isEmpty() ? null : key, "YAML tags such as " + safe(n.getTag().getValue())
                    + " are not allowed");
        }
    }

    private static boolean isNull(Node n) {
        return n instanceof ScalarNode && n.getTag().equals(Tag.NULL);
    }

    private static String describe(Node n) {
        if (n instanceof MappingNode) {
            return "a mapping";
        }
        if (n instanceof SequenceNode) {
            return "a list";
        }
        String v = ((ScalarNode) n).getValue();
        return "'" + safe(v) + "'";
    }

    /** Values are echoed into messages; keep them short and printable. */
    static String safe(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && sb.length() < 60; i++) {
            char c = s.charAt(i);
            sb.append(c < 0x20 || c == 0x7f ? '?' : c);
        }
        if (s.length() > 60) {
            sb.append("...");
        }
        return sb.toString();
    }

    private static String join(String prefix, String name) {
        return prefix.isEmpty() ? name : prefix + "." + name;
    }

}
