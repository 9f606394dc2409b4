package org.transfergateway.protocols.sftp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.sshd.sftp.common.SftpConstants;
import org.apache.sshd.sftp.common.SftpException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.LimitsConfig;
import org.transfergateway.protocols.ftp.RateCheck;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.UserFiles;

/**
 * A file handle open for reading: one counted download stream from the offset of the first
 * read to the end, which sequential reads continue. A read elsewhere ends that download
 * and opens another at the new offset. A handle left open when the session ends counts its
 * download as failed unless it was sent to the end of the file.
 */
final class DownloadChannel implements HandleChannel {
    private static final Logger log = LoggerFactory.getLogger(DownloadChannel.class);
    private final UserFiles files;
    private final LimitsConfig limits;
    /** limits.min-transfer-rate of the download open now. */
    private RateCheck rate;
    /** Set when a download was too slow: the handle serves nothing more. */
    private SftpException failed;
    private final String path;
    private final long size;
    private UserFiles.Outbound in;
    /** Where the next read of {@link #in} begins. */
    private long streamPosition;
    private long position;
    /** A download was opened: a read at the end afterwards is the end, not a new 0-byte download. */
    private boolean started;
    private volatile boolean open = true;
    /** Held by each request on the handle; the rate sweep only tries it, never waits behind a request. */
    private final ReentrantLock lock = new ReentrantLock();
    private volatile boolean closedByClient;

    private DownloadChannel(UserFiles files, LimitsConfig limits, String path, long size) {
        this.files = files;
        this.limits = limits;
        this.path = path;
        this.size = size;
    }

    static DownloadChannel open(UserFiles files, LimitsConfig limits, String path) throws IOException {
        ObjectInfo info = files.stat(path);
        if (info == null) {
            throw new NoSuchFileException(path);
        }
        if (info.folder()) {
            throw new SftpException(SftpConstants.SSH_FX_FAILURE, path + " is a folder");
        }
        return new DownloadChannel(files, limits, path, info.size());
    }

    @Override
    public void closedByClient() {
        closedByClient = true;
    }

    /** Fills {@code dst} unless the file ends first: a short read makes clients re-ask out of order. */
    @Override
    public int read(ByteBuffer dst) throws IOException {
        lock.lock();
        try {
            return readLocked(dst);
        } finally {
            lock.unlock();
        }
    }

    private int readLocked(ByteBuffer dst) throws IOException {
        if (failed != null) {
            throw failed;
        }
        if (position > size || position == size && started) {
            return -1; // clients read past the end to learn where it is
        }
        if (in == null) {
            in = files.download(path, position, -1);
            streamPosition = position;
            started = true;
            rate = new RateCheck(limits);
        }
        int total = 0;
        byte[] chunk = dst.hasArray() ? null : new byte[Math.min(dst.remaining(), 64 * 1024)];
        while (dst.hasRemaining()) {
            int n;
            if (chunk == null) {
                n = in.read(dst.array(), dst.arrayOffset() + dst.position(), dst.remaining());
                if (n > 0) {
                    dst.position(dst.position() + n);
                }
            } else {
                n = in.read(chunk, 0, Math.min(chunk.length, dst.remaining()));
                if (n > 0) {
                    dst.put(chunk, 0, n);
                }
            }
            if (n < 0) {
                break;
            }
            total += n;
        }
        position += total;
        streamPosition += total;
        if (total > 0 && rate.tooSlow(total)) {
            throw abortTooSlow();
        }
        return total == 0 && dst.hasRemaining() ? -1 : total;
    }

    /** Ends the download, counted failed with what was sent, as one the client gave up on. */
    private SftpException abortTooSlow() throws IOException {
        log.info("sftp {} {}: dropped, slower than {} bytes/s", files.user(), path, rate.minBytesPerSecond());
        endDownload(true);
        failed = new SftpException(SftpConstants.SSH_FX_FAILURE,
                "Transfer slower than the minimum of " + rate.minBytesPerSecond() + " bytes/s; aborted");
        return failed;
    }

    /**
     * Between requests: a download whose client stopped asking falls below the minimum rate
     * as time passes, and is aborted then. One sent to the end of the file is done, however
     * long the client keeps the handle; one busy with a request is left alone.
     */
    @Override
    public boolean abortIfTooSlow() throws IOException {
        if (closedByClient || !lock.tryLock()) {
            return false;
        }
        try {
            if (!open || failed != null || in == null || streamPosition >= size || !rate.tooSlow(0)) {
                return false;
            }
            abortTooSlow();
            return true;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public DownloadChannel position(long offset) throws IOException {
        lock.lock();
        try {
            return positionLocked(offset);
        } finally {
            lock.unlock();
        }
    }

    private DownloadChannel positionLocked(long offset) throws IOException {
        if (offset != position) {
            position = offset;
            // A read past the end (a pipelining client's last requests) leaves the download as it is.
            if (in != null && offset != streamPosition && offset < size) {
                endDownload(false);
            }
        }
        return this;
    }

    private void endDownload(boolean abandon) throws IOException {
        UserFiles.Outbound d = in;
        in = null;
        if (d != null) {
            if (abandon) {
                d.abandon();
            }
            d.close();
        }
    }

    @Override
    public long position() {
        return position;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        throw new SftpException(SftpConstants.SSH_FX_PERMISSION_DENIED, path + " is open for reading only");
    }

    @Override
    public DownloadChannel truncate(long size) throws IOException {
        throw new SftpException(SftpConstants.SSH_FX_PERMISSION_DENIED, path + " is open for reading only");
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public void close() throws IOException {
        lock.lock();
        try {
            closeLocked();
        } finally {
            lock.unlock();
        }
    }

    private void closeLocked() throws IOException {
        if (!open) {
            return;
        }
        open = false;
        // A session that ends with the handle open after the last byte went out (lftp leaves
        // so at the end of a mirror) delivered the file, as an FTP transfer that sent it all.
        endDownload(!closedByClient && streamPosition < size);
    }
}
