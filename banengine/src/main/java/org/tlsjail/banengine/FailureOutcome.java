package org.tlsjail.banengine;

/** What {@link BanEngine#recordFailure} did with a failure. */
public enum FailureOutcome {
    /** The source is in ignoreip: not counted. */
    IGNORED,
    /** Counted; the source is not banned (yet). */
    COUNTED,
    /** Counted, and this failure reached maxretry: the source is now banned. */
    BANNED,
    /** The source was banned already: not counted. */
    ALREADY_BANNED
}
