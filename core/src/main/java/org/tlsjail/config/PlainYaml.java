package org.tlsjail.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Converts a node subtree (already tag-checked) into unmodifiable plain Java values — maps,
 * lists, String, Integer/Long, Double, Boolean, null — for sections another module validates
 * itself ({@code bridge:} is read by the netfilter-bridge module). Records each dotted key's
 * position so that module's error messages can still point at file:line:column.
 */
final class PlainYaml {
    private final Map<String, Mark> marks = new LinkedHashMap<>();
    private final String source;

    PlainYaml(String source) {
        this.source = source;
    }

    Object convert(Node node, String path) throws ConfigException {
        return convert(node, path, 0);
    }

    Map<String, Mark> marks() {
        return marks;
    }

    private Object convert(Node node, String path, int depth) throws ConfigException {
        marks.putIfAbsent(path, node.getStartMark());
        YamlSection.checkTag(source, path, node);
        if (depth > 10) {
            throw YamlSection.at(source, node.getStartMark(), path, "nested too deeply");
        }
        if (node instanceof MappingNode m) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (NodeTuple t : m.getValue()) {
                if (!(t.getKeyNode() instanceof ScalarNode k)) {
                    throw YamlSection.at(source, t.getKeyNode().getStartMark(), path, "keys must be plain names");
                }
                String key = path + "." + k.getValue();
                if (out.containsKey(k.getValue())) {
                    throw YamlSection.at(source, k.getStartMark(), key, "duplicate key");
                }
                marks.put(key, t.getValueNode().getStartMark());
                out.put(k.getValue(), convert(t.getValueNode(), key, depth + 1));
            }
            return Collections.unmodifiableMap(out);
        }
        if (node instanceof SequenceNode s) {
            List<Object> out = new ArrayList<>();
            for (Node item : s.getValue()) {
                out.add(convert(item, path, depth + 1));
            }
            return Collections.unmodifiableList(out);
        }
        ScalarNode sc = (ScalarNode) node;
        String v = sc.getValue();
        Tag tag = sc.getTag();
        if (tag.equals(Tag.NULL)) {
            return null;
        }
        if (tag.equals(Tag.BOOL)) {
            String b = v.toLowerCase(java.util.Locale.ROOT);
            return b.equals("true") || b.equals("yes") || b.equals("on") || b.equals("y");
        }
        if (tag.equals(Tag.INT) && v.matches("[+-]?[0-9]{1,18}")) {
            long n = Long.parseLong(v.replace("+", ""));
            return n == (int) n ? (Object) (int) n : (Object) n;
        }
        if (tag.equals(Tag.FLOAT) && v.matches("[+-]?[0-9]*\\.?[0-9]+([eE][+-]?[0-9]+)?")) {
            return Double.parseDouble(v);
        }
        return v;
    }
}
