package org.tlsjail.bridge.nftables;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.regex.Pattern;
import org.tlsjail.banengine.BanRecord;
import org.tlsjail.banengine.SourceKey;

/**
 * Writes the nft scripts the bridge feeds to {@code nft -f -}. The only variable text in them is
 * the validated table name, the port number, and addresses formatted here from a
 * {@link SourceKey}: nothing a client sends can reach nft.
 */
final class NftScript {
    static final String V4_SET = "v4";
    static final String V6_SET = "v6";
    /** The jail's ignoreip ({@link Exemptions}): new connections from these skip the drop rules. */
    static final String V4_EXEMPT = "v4_ignore";
    static final String V6_EXEMPT = "v6_ignore";
    /**
     * Longest element timeout written; longer (not permanent) bans are refreshed by the periodic
     * reconciliation. Stays below 2^31 ms, which older kernels and nft versions cannot exceed.
     */
    static final Duration MAX_TIMEOUT = Duration.ofDays(24);
    private static final Pattern ADDRESS = Pattern.compile("[0-9a-fA-F:.]{2,45}(/[0-9]{1,3})?");

    private final String table;
    private final StringBuilder sb = new StringBuilder();

    NftScript(String table) {
        this.table = table;
    }

    /**
     * Replaces any table of this name (a stale one from an earlier run) by a fresh one with no bans
     * and the exempt sets holding {@code exempt}.
     */
    NftScript createTable(int port, NftAction action, Exemptions exempt) {
        // "add" first so the "delete" cannot fail on a missing table; the file is applied atomically
        sb.append("add table inet ").append(table).append('\n');
        sb.append("delete table inet ").append(table).append('\n');
        sb.append("table inet ").append(table).append(" {\n");
        sb.append("  set ").append(V4_SET).append(" { type ipv4_addr; flags interval, timeout; }\n");
        sb.append("  set ").append(V6_SET).append(" { type ipv6_addr; flags interval, timeout; }\n");
        sb.append("  set ").append(V4_EXEMPT).append(" { type ipv4_addr; flags interval; }\n");
        sb.append("  set ").append(V6_EXEMPT).append(" { type ipv6_addr; flags interval; }\n");
        sb.append("  chain input {\n");
        sb.append("    type filter hook input priority -10; policy accept;\n");
        // SYN without ACK: only new connections; established ones finish normally. An ignored
        // address leaves this chain before the drop rules, also when its whole unit is banned;
        // accept here only ends this chain: the host's other firewall chains still apply to it.
        String syn = "    tcp dport " + port + " tcp flags & (syn | ack) == syn ";
        sb.append(syn).append("ip saddr @").append(V4_EXEMPT).append(" counter accept\n");
        sb.append(syn).append("ip6 saddr @").append(V6_EXEMPT).append(" counter accept\n");
        sb.append(syn).append("ip saddr @").append(V4_SET).append(" counter ").append(action.statement()).append('\n');
        sb.append(syn).append("ip6 saddr @").append(V6_SET).append(" counter ").append(action.statement()).append('\n');
        sb.append("  }\n}\n");
        exemptElements(exempt);
        return this;
    }

    /** Makes the exempt sets hold exactly {@code exempt} (in the same atomic file). */
    NftScript replaceExemptions(Exemptions exempt) {
        sb.append("flush set inet ").append(table).append(' ').append(V4_EXEMPT).append('\n');
        sb.append("flush set inet ").append(table).append(' ').append(V6_EXEMPT).append('\n');
        exemptElements(exempt);
        return this;
    }

    private void exemptElements(Exemptions exempt) {
        exemptElements(V4_EXEMPT, exempt.v4());
        exemptElements(V6_EXEMPT, exempt.v6());
    }

    private void exemptElements(String set, List<SourceKey> keys) {
        if (keys.isEmpty()) {
            return; // nft refuses an empty element list
        }
        sb.append("add element inet ").append(table).append(' ').append(set).append(" { ");
        for (int i = 0; i < keys.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(element(keys.get(i)));
        }
        sb.append(" }\n");
    }

    NftScript deleteTable() {
        sb.append("delete table inet ").append(table).append('\n');
        return this;
    }

    /**
     * Puts {@code ban} in its set with a timeout equal to what is left of it (none if permanent),
     * replacing an element already there (nft's "add" would keep the old timeout). Returns false
     * and writes nothing if the ban is already over.
     */
    boolean add(BanRecord ban, Instant now) {
        String element = element(ban.key());
        String timeout = "";
        if (!ban.isPermanent()) {
            Duration left = Duration.between(now, ban.until());
            if (left.isNegative() || left.isZero()) {
                return false;
            }
            long seconds = Math.min(MAX_TIMEOUT.toSeconds(), (left.toMillis() + 999) / 1000);
            timeout = " timeout " + seconds + "s";
        }
        String set = ban.key().isIpv4() ? V4_SET : V6_SET;
        elementLine("add", set, element, "");
        elementLine("delete", set, element, "");
        elementLine("add", set, element, timeout);
        return true;
    }

    /** Removes {@code key}'s element if it is there (a missing element is not an error). */
    void remove(SourceKey key) {
        String element = element(key);
        String set = key.isIpv4() ? V4_SET : V6_SET;
        // deleting a missing element fails the whole file, so make sure it exists first
        elementLine("add", set, element, "");
        elementLine("delete", set, element, "");
    }

    private void elementLine(String verb, String set, String element, String suffix) {
        sb.append(verb).append(" element inet ").append(table).append(' ').append(set)
                .append(" { ").append(element).append(suffix).append(" }\n");
    }

    /** The element text: {@link SourceKey#toString()}, checked to be nothing but an address. */
    static String element(SourceKey key) {
        String s = key.toString();
        if (!ADDRESS.matcher(s).matches()) {
            throw new IllegalStateException("not an address: " + s);
        }
        return s;
    }

    boolean isEmpty() {
        return sb.length() == 0;
    }

    @Override
    public String toString() {
        return sb.toString();
    }
}
