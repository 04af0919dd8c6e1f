/**
 * Host-level bans: backends that push the ban engine's decisions below the JVM, so a banned
 * source is refused by the kernel (or by the Fail2Ban the host already runs) instead of costing an
 * accept() per connection.
 *
 * <p>Every backend is a {@link org.tlsjail.bridge.HostBanBridge}: a
 * {@link org.tlsjail.banengine.BanListener} that only enqueues under the engine's lock and does its
 * I/O on its own thread. Data flows one way: engine -> bridge -> Fail2Ban / nftables / HAProxy.
 *
 * <p>Configuration: {@link org.tlsjail.bridge.BridgeConfig} holds one immutable record per enabled
 * backend, each checked in its constructor (the keys all share are one
 * {@link org.tlsjail.bridge.QueueSettings}); core's configuration loader reads the YAML into them.
 * {@link org.tlsjail.bridge.HostBanBridges#create} turns a checked BridgeConfig into bridges.
 */
package org.tlsjail.bridge;
