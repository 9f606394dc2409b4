package org.transfergateway.protocols.sftp;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.sshd.sftp.common.SftpConstants;
import org.apache.sshd.sftp.common.SftpException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.protocols.ftp.RateCheck;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.UserFiles;

/**
 * A file handle open for writing: its bytes stream in order into one counted upload, which
 * commits when the client closes the handle and is aborted when the session ends first.
 *
 * <p>Storage takes a file as one stream, so writes must come in order. A handle opened with
 * truncation (what {@code put} sends) or on a new file starts at 0; one opened for append
 * continues the existing file; one opened without either decides at its first write:
 * offset 0 replaces the file, offset = its size continues it (what {@code reput} sends).
 */
final class UploadChannel implements HandleChannel {
    private static final Logger log = LoggerFactory.getLogger(UploadChannel.class);
    static final String IN_ORDER = "random-access writes are not supported; write files in order";

    private final UserFileSystem fs;
    private final String path;
    /** The size of the file the handle was opened on, for a handle that has not written yet. */
    private final long existingSize;
    private UserFiles.Inbound upload;
    /** limits.min-transfer-rate, from the upload's first byte. */
    private RateCheck rate;
    private long position;
    private volatile boolean open = true;
    /** Held by each request on the handle; the rate sweep only tries it, never waits behind a request. */
    private final ReentrantLock lock = new ReentrantLock();
    /** Why a write failed (out of order, over quota, storage): the upload was aborted and the handle stores nothing. */
    private IOException failed;
    private volatile boolean closedByClient;
    private volatile Instant modifiedOnCommit;

    private UploadChannel(UserFileSystem fs, String path, long existingSize) {
        this.fs = fs;
        this.path = path;
        this.existingSize = existingSize;
    }

    static UploadChannel open(UserFileSystem fs, String path, Set<? extends OpenOption> options, boolean append)
            throws IOException {
        ObjectInfo existing = fs.files().stat(path);
        if (existing != null && existing.folder()) {
            throw new SftpException(SftpConstants.SSH_FX_FAILURE, path + " is a folder");
        }
        if (existing != null && options.contains(StandardOpenOption.CREATE_NEW)) {
            throw new FileAlreadyExistsException(path);
        }
        boolean create = options.contains(StandardOpenOption.CREATE) || options.contains(StandardOpenOption.CREATE_NEW);
        if (existing == null && !create) {
            throw new NoSuchFileException(path);
        }
        UploadChannel c = new UploadChannel(fs, path, existing == null ? 0 : existing.size());
        if (append) {
            c.begin(c.existingSize);
        } else if (existing == null || options.contains(StandardOpenOption.TRUNCATE_EXISTING)) {
            c.begin(0);
        }
        // One upload per path in the session: a second open of the same path replaces the first in the map.
        fs.uploads().put(path, c);
        return c;
    }

    private void begin(long keep) throws IOException {
        upload = fs.files().upload(path, keep);
        position = keep;
        rate = new RateCheck(fs.limits());
    }

    /** A SETSTAT of the time before the CLOSE (sftp put -p): applied once the file exists. */
    void modifiedOnCommit(Instant time) {
        modifiedOnCommit = time;
    }

    @Override
    public void closedByClient() {
        closedByClient = true;
    }

    /** Aborts the upload (counted as failed with what it had): later writes and the CLOSE answer {@code why}. */
    private IOException fail(IOException why) {
        failed = why;
        if (upload != null) {
            upload.abort();
        }
        return why;
    }

    private SftpException refuse() {
        return (SftpException) fail(new SftpException(SftpConstants.SSH_FX_FAILURE, IN_ORDER));
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        lock.lock();
        try {
            return writeLocked(src);
        } finally {
            lock.unlock();
        }
    }

    private int writeLocked(ByteBuffer src) throws IOException {
        if (failed != null) {
            throw failed;
        }
        if (upload == null) {
            begin(0);
        }
        int n = src.remaining();
        try {
            upload.write(src);
        } catch (IOException e) {
            throw fail(e);
        }
        position += n;
        if (rate.tooSlow(n)) {
            throw fail(tooSlow());
        }
        return n;
    }

    private SftpException tooSlow() {
        log.info("sftp {} {}: dropped, slower than {} bytes/s", fs.files().user(), path, rate.minBytesPerSecond());
        return new SftpException(SftpConstants.SSH_FX_FAILURE,
                "Transfer slower than the minimum of " + rate.minBytesPerSecond() + " bytes/s; aborted, nothing stored");
    }

    /**
     * Between requests: an upload whose client has gone quiet falls below the minimum rate as
     * time passes, and is aborted then (counted failed) instead of at a write that may never come.
     * A handle the client is closing, or busy with a request, is left alone.
     */
    @Override
    public boolean abortIfTooSlow() {
        if (closedByClient || !lock.tryLock()) {
            return false;
        }
        try {
            if (!open || failed != null || upload == null || !rate.tooSlow(0)) {
                return false;
            }
            fail(tooSlow());
            return true;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public UploadChannel position(long offset) throws IOException {
        lock.lock();
        try {
            return positionLocked(offset);
        } finally {
            lock.unlock();
        }
    }

    private UploadChannel positionLocked(long offset) throws IOException {
        if (failed != null) {
            throw failed;
        }
        if (upload == null) {
            if (offset == 0) {
                begin(0);
            } else if (offset == existingSize) {
                begin(offset);
            } else {
                throw refuse();
            }
        } else if (offset != position) {
            throw refuse();
        }
        return this;
    }

    @Override
    public long position() {
        return position;
    }

    @Override
    public long size() {
        return upload == null ? existingSize : position;
    }

    @Override
    public UploadChannel truncate(long size) throws IOException {
        if (size != size()) {
            throw new SftpException(SftpConstants.SSH_FX_OP_UNSUPPORTED, "changing the size of a file is not supported");
        }
        return this;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        throw new SftpException(SftpConstants.SSH_FX_PERMISSION_DENIED, path + " is open for writing only");
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    /**
     * After the client's CLOSE: commits, and the file exists only once this returns. Else
     * (the session ended with the handle open): aborts, counted as a failed upload.
     */
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
        fs.uploads().remove(path, this);
        if (!closedByClient) {
            if (upload != null) {
                log.info("sftp {} {}: the session ended before the file was closed; {} bytes received, nothing stored",
                        fs.files().user(), path, upload.written());
                upload.abort();
            }
            return;
        }
        if (failed != null) {
            throw failed; // the client is told again at CLOSE: nothing was stored
        }
        if (upload == null) {
            return; // opened on an existing file and closed without a write: it stays as it was
        }
        try {
            upload.commit();
        } finally {
            upload.abort(); // a no-op after a commit; cleans up after a failed one
        }
        Instant time = modifiedOnCommit;
        if (time != null) {
            try {
                fs.files().setModified(path, time);
            } catch (IOException e) {
                // The file is stored: the CLOSE succeeds; only its time is not the one asked for.
                log.warn("sftp {} {}: stored, but its modification time could not be set: {}", fs.files().user(), path, e.getMessage());
            }
        }
    }
}
