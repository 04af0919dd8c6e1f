/**
 * The control socket: the daemon's owner-only unix socket and its one-line protocol, through which
 * the CLI asks for status, bans, unbans, reloads and stops. It only carries requests; what they do
 * is the daemon's.
 */
package org.tlsjail.control;
