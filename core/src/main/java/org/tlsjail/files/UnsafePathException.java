package org.tlsjail.files;

import java.io.IOException;

/**
 * A file or directory tlsjail would write through is not safe to use: a symbolic link, a file
 * owned by another user, or a directory another user may write into. Restarting cannot fix it;
 * the message is one line naming the path and the problem.
 */
public final class UnsafePathException extends IOException {
    private static final long serialVersionUID = 1L;

    public UnsafePathException(String message) {
        super(message);
    }
}
