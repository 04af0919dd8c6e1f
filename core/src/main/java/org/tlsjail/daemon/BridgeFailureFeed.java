package org.tlsjail.daemon;

import java.util.List;
import java.util.function.Supplier;
import org.tlsjail.banengine.FailureOutcome;
import org.tlsjail.bridge.HostBanBridge;
import org.tlsjail.listener.HandshakeFailure;
import org.tlsjail.listener.HandshakeObserver;

/**
 * Tells the bridges of each failed handshake the engine counted (the Fail2Ban bridge in
 * {@code mode: attempt} reports it to Fail2Ban; the others ignore it). The list is read per call so a reload's new bridges get
 * the failures from then on. Bridges only enqueue, so this never blocks a handshake thread.
 */
final class BridgeFailureFeed implements HandshakeObserver {
    private final Supplier<List<HostBanBridge>> bridges;

    BridgeFailureFeed(Supplier<List<HostBanBridge>> bridges) {
        this.bridges = bridges;
    }

    @Override
    public void onFailure(HandshakeFailure failure, FailureOutcome outcome) {
        if (outcome == FailureOutcome.IGNORED) {
            // not counted here (ignoreip, or a kind of weight 0): Fail2Ban's `attempt` would count
            // it, since Fail2Ban checks its own ignoreip only for lines read from a log
            return;
        }
        for (HostBanBridge b : bridges.get()) {
            b.onFailure(failure.remote().getAddress(), failure.reason());
        }
    }
}
