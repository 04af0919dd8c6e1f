/** placeholder until the module's first classes land */
package org.tlsjail.bench;
