package org.tlsjail.config;

import java.nio.file.Path;

/**
 * {@code fail2ban-log.*}.
 *
 * @param trailingTimestamp {@code timestamp: trailing} (default) or {@code none} (OS4X's undated form)
 * @param mode              POSIX permission bits the file is created with, e.g. 0640
 */
public record Fail2BanLogSection(Path path, boolean trailingTimestamp, int mode) {
    public String modeOctal() {
        return String.format("0%03o", mode);
    }
}
