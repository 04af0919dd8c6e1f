/**
 * Forward mode: relays each connection whose handshake succeeded to a plain-TCP backend (with an
 * optional PROXY header carrying the client's address), within the relay limits.
 */
package org.tlsjail.forward;
