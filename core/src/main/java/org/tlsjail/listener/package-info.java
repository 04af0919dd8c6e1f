/**
 * The TLS listener. Data flows one way: accepted socket -> ban check (engine) -> handshake ->
 * classified failure -> engine ({@code recordFailure}) and observers (the Fail2Ban log, metrics),
 * or success -> the application's {@link org.tlsjail.listener.ConnectionHandler}.
 */
package org.tlsjail.listener;
