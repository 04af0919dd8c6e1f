/**
 * The Fail2Ban log sink: OS4X-format lines with a trailing timestamp, sanitised client text,
 * non-blocking writes, and logrotate-proof file handling.
 */
package org.tlsjail.fail2banlog;
