package org.transfergateway.protocols.sftp;

import java.io.IOException;
import java.nio.channels.SeekableByteChannel;

/**
 * The channel behind an SFTP file handle. MINA SSHD closes a handle the same way whether the
 * client sent SSH_FXP_CLOSE or the session ended with the handle open; only the first may
 * complete a transfer, so {@link GatewayFileAccessor} marks it before the close.
 */
interface HandleChannel extends SeekableByteChannel {

    /** The client closed the handle: the close that follows completes the transfer. */
    void closedByClient();

    /**
     * limits.min-transfer-rate between requests: aborts the transfer (counted failed) when its
     * average since it began has fallen below the minimum; true when it did so now.
     */
    boolean abortIfTooSlow() throws IOException;
}
