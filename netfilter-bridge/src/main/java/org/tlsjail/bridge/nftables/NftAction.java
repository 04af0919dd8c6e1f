package org.tlsjail.bridge.nftables;

/** What the kernel does with a new connection from a banned source ({@code bridge.nftables.action}). */
public enum NftAction {
    /** Silently discard the SYN: the client waits for its connect timeout. */
    DROP("drop"),
    /** Answer with a TCP reset: the client sees "connection refused" at once (like Fail2Ban's REJECT). */
    REJECT("reject with tcp reset");

    private final String statement;

    NftAction(String statement) {
        this.statement = statement;
    }

    /** The nft statement ending the rule. */
    String statement() {
        return statement;
    }

    public static NftAction parse(String text) {
        if (text != null) {
            for (NftAction a : values()) {
                if (a.name().equalsIgnoreCase(text.strip())) {
                    return a;
                }
            }
        }
        throw new IllegalArgumentException("bridge.nftables.action: expected drop or reject, got '" + text + "'");
    }
}
