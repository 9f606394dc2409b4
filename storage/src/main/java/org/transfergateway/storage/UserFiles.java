package org.transfergateway.storage;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import org.transfergateway.config.UserPolicy;
import org.transfergateway.storage.meter.CommitLocks;
import org.transfergateway.storage.meter.Direction;
import org.transfergateway.storage.meter.Protocol;
import org.transfergateway.storage.meter.StoredChange;
import org.transfergateway.storage.meter.Transfer;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * One user's files as a front end sees them: user paths ("/" is the home) in, backend
 * keys out, and every transfer counted by the {@link TransferMeter}. FTP and HTTP both
 * go through this class and nothing else, so they normalise, refuse and count alike.
 *
 * <p>Paths given to the methods are user paths, absolute or relative to "/"; they pass
 * through {@link StoragePaths#normalize} here.
 */
public final class UserFiles {
    private final Storage backend;
    private final String user;
    private final String home;
    private final Protocol protocol;
    private final TransferMeter meter;
    private final UserPolicy policy;
    private final long maxUploadBytes;

    /**
     * @param policy         what the user may do; refusals are {@link ErrorCode#FORBIDDEN},
     *                       a quota or size overrun {@link ErrorCode#TOO_LARGE}
     * @param maxUploadBytes the largest file one upload may write, 0 for no limit
     */
    public UserFiles(Storage backend, String user, String home, Protocol protocol, TransferMeter meter,
                     UserPolicy policy, long maxUploadBytes) {
        this.backend = backend;
        this.user = user;
        this.home = home;
        this.protocol = protocol;
        this.meter = meter;
        this.policy = policy;
        this.maxUploadBytes = maxUploadBytes;
    }

    public UserFiles(Storage backend, String user, String home, Protocol protocol, TransferMeter meter) {
        this(backend, user, home, protocol, meter, UserPolicy.UNLIMITED, 0);
    }

    private void require(boolean allowed, String what) throws GatewayException {
        if (!allowed) {
            throw ErrorCode.FORBIDDEN.exception(user + " may not " + what);
        }
    }

    /** Bytes the user may still add, or Long.MAX_VALUE without a quota. */
    private long quotaRoom() {
        return policy.quotaBytes() <= 0 ? Long.MAX_VALUE
                : Math.max(0, policy.quotaBytes() - meter.storedOf(backend.name(), user).bytes());
    }

    public String user() {
        return user;
    }

    /** What this user may do. */
    public UserPolicy policy() {
        return policy;
    }

    public String backendName() {
        return backend.name();
    }

    private static String path(String path) throws GatewayException {
        return StoragePaths.normalize("/", path);
    }

    private String key(String normalized) throws GatewayException {
        return StoragePaths.key(home, normalized);
    }

    /** The file or folder at {@code path}, or null. The home itself always exists. */
    public ObjectInfo stat(String path) throws IOException {
        String p = path(path);
        if (p.equals("/")) {
            ObjectInfo h = backend.stat(key(p));
            return h != null && h.folder() ? h : ObjectInfo.folder(key(p), java.time.Instant.EPOCH);
        }
        return backend.stat(key(p));
    }

    /** The entries of the folder {@code path}; NOT_FOUND when it is neither a folder nor the home. */
    public List<ObjectInfo> list(String path) throws IOException {
        require(policy.read(), "list folders");
        String p = path(path);
        ObjectInfo dir = stat(p);
        if (dir == null) {
            throw ErrorCode.NOT_FOUND.exception("no such folder: " + p);
        }
        if (!dir.folder()) {
            throw ErrorCode.CONFLICT.exception(p + " is a file, not a folder");
        }
        return backend.list(key(p));
    }

    /** Starts an upload that replaces {@code path} when committed. */
    public Inbound upload(String path) throws IOException {
        return upload(path, 0);
    }

    /**
     * Like {@link #upload(String)}, with the exact size the client announced (an HTTP
     * Content-Length), which lets the backend stream it in one request
     * ({@link Storage#create(String, long)}).
     */
    public Inbound uploadOfSize(String path, long size) throws IOException {
        return open(path, 0, size);
    }

    /**
     * Starts an upload that keeps the first {@code keep} bytes of the existing file and
     * continues with what the client sends (FTP REST + STOR, and APPE with
     * {@code keep = size}). Only the client's bytes count as transferred.
     */
    public Inbound upload(String path, long keep) throws IOException {
        return open(path, keep, -1);
    }

    /** {@code size < 0}: not known in advance. */
    private Inbound open(String path, long keep, long size) throws IOException {
        require(policy.write(), "upload");
        String p = path(path);
        if (p.equals("/")) {
            throw ErrorCode.CONFLICT.exception("the home folder cannot be written as a file");
        }
        String key = key(p);
        boolean atFileQuota = policy.quotaFiles() > 0
                && meter.storedOf(backend.name(), user).objects() >= policy.quotaFiles();
        // What lies there now, asked once, and only when a rule below needs it.
        ObjectInfo existing = !policy.delete() || atFileQuota || keep > 0 ? backend.stat(key) : null;
        boolean existingFile = existing != null && !existing.folder();
        if (!policy.delete() && existingFile && keep < existing.size()) {
            throw ErrorCode.FORBIDDEN.exception(user + " may not replace " + p + ": it may not delete");
        }
        if (atFileQuota && !existingFile) {
            throw ErrorCode.TOO_LARGE.exception("the quota of " + policy.quotaFiles() + " files is used up");
        }
        if (size > 0) {
            refuseOverLimits(size);
        }
        if (keep > 0 && (!existingFile || existing.size() < keep)) {
            throw ErrorCode.BAD_REQUEST.exception("cannot resume at " + keep + ": the file has "
                    + (existingFile ? existing.size() : "no") + " bytes");
        }
        Upload upload = size >= 0 && keep == 0 ? backend.create(key, size) : backend.create(key);
        Transfer transfer;
        try {
            transfer = meter.start(user, protocol, Direction.IN, p, backend.name());
        } catch (IOException | RuntimeException e) {
            upload.abort();
            throw e;
        }
        try {
            // Before the first byte: the kept bytes may already open a multipart upload.
            if (upload instanceof JournaledUpload j) {
                j.journalTo(new TransferJournal(meter, transfer, backend.name()));
            }
            if (keep > 0) {
                try (InputStream in = backend.read(key, 0, keep)) {
                    copy(in, upload);
                }
            }
            return new Inbound(key, upload, transfer);
        } catch (IOException | RuntimeException e) {
            upload.abort();
            meter.end(transfer, false, null);
            throw e;
        }
    }

    /**
     * An announced size over the size limit or the quota room is refused before the
     * upload starts (and before an HTTP client is told to send its body); a quota that
     * other uploads use up meanwhile is checked again at commit.
     */
    private void refuseOverLimits(long size) throws GatewayException {
        if (maxUploadBytes > 0 && size > maxUploadBytes) {
            throw tooLarge(true);
        }
        if (size > quotaRoom()) {
            throw tooLarge(false);
        }
    }

    /** An upload over the size limit ({@code bySizeLimit}) or over the quota of bytes. */
    private GatewayException tooLarge(boolean bySizeLimit) {
        return ErrorCode.TOO_LARGE.exception(bySizeLimit
                ? "the file is larger than the limit of " + maxUploadBytes + " bytes"
                : "the quota of " + policy.quotaBytes() + " bytes would be exceeded");
    }

    private static void copy(InputStream in, Upload out) throws IOException {
        byte[] buf = new byte[64 * 1024];
        for (int n; (n = in.read(buf)) >= 0; ) {
            out.write(buf, 0, n);
        }
    }

    /**
     * Opens {@code [offset, offset + length)} of the file at {@code path} for sending;
     * {@code length < 0} means to the end. NOT_FOUND when there is no such file.
     */
    public Outbound download(String path, long offset, long length) throws IOException {
        require(policy.read(), "download");
        String p = path(path);
        String key = key(p);
        ObjectInfo info = backend.stat(key);
        if (info == null) {
            throw ErrorCode.NOT_FOUND.exception("no such file: " + p);
        }
        if (info.folder()) {
            throw ErrorCode.CONFLICT.exception(p + " is a folder");
        }
        if (offset < 0 || offset > info.size()) {
            throw ErrorCode.BAD_REQUEST.exception("offset " + offset + " is beyond the end of " + p + " (" + info.size() + " bytes)");
        }
        long expected = length < 0 ? info.size() - offset : Math.min(length, info.size() - offset);
        Transfer t = meter.start(user, protocol, Direction.OUT, p, backend.name());
        try {
            InputStream in = backend.read(key, offset, expected);
            if (in == null) {
                throw ErrorCode.NOT_FOUND.exception("no such file: " + p);
            }
            return new Outbound(in, info, expected, t);
        } catch (IOException | RuntimeException e) {
            meter.end(t, false, null);
            throw e;
        }
    }

    /** Deletes the file at {@code path}; NOT_FOUND when there is none. */
    public void delete(String path) throws IOException {
        require(policy.delete(), "delete");
        String p = path(path);
        String key = key(p);
        try (CommitLocks.Held turn = meter.commitLocks().lock(backend.name(), key)) {
            ObjectInfo old = backend.stat(key);
            if (old == null) {
                throw ErrorCode.NOT_FOUND.exception("no such file: " + p);
            }
            if (old.folder()) {
                throw ErrorCode.CONFLICT.exception(p + " is a folder");
            }
            if (!backend.delete(key)) {
                throw ErrorCode.NOT_FOUND.exception("no such file: " + p);
            }
            meter.changed(new StoredChange(backend.name(), user, -old.size(), -1));
        }
    }

    /** Renames a file or folder; a file already at {@code to} is replaced. */
    public void move(String from, String to) throws IOException {
        require(policy.write(), "rename");
        String f = path(from);
        String t = path(to);
        if (f.equals("/") || t.equals("/")) {
            throw ErrorCode.CONFLICT.exception("the home folder cannot be renamed or replaced");
        }
        try (CommitLocks.Held turn = meter.commitLocks().lock(backend.name(), key(f), key(t))) {
            ObjectInfo source = backend.stat(key(f));
            if (source == null) {
                throw ErrorCode.NOT_FOUND.exception("no such file or folder: " + f);
            }
            ObjectInfo replaced = backend.stat(key(t));
            if (replaced != null && replaced.folder()) {
                throw ErrorCode.CONFLICT.exception("a folder exists at " + t);
            }
            require(replaced == null || policy.delete(), "replace " + t + " by renaming: it may not delete");
            backend.move(key(f), key(t));
            if (replaced != null && !source.folder()) {
                meter.changed(new StoredChange(backend.name(), user, -replaced.size(), -1));
            }
        }
    }

    public void makeFolder(String path) throws IOException {
        require(policy.write(), "make folders");
        String p = path(path);
        ObjectInfo existing = stat(p);
        if (existing != null) {
            throw ErrorCode.CONFLICT.exception(p + " already exists");
        }
        backend.makeFolder(key(p));
    }

    public void removeFolder(String path) throws IOException {
        require(policy.delete(), "remove folders");
        String p = path(path);
        if (p.equals("/")) {
            throw ErrorCode.CONFLICT.exception("the home folder cannot be removed");
        }
        ObjectInfo existing = backend.stat(key(p));
        if (existing == null) {
            throw ErrorCode.NOT_FOUND.exception("no such folder: " + p);
        }
        if (!existing.folder()) {
            throw ErrorCode.CONFLICT.exception(p + " is a file, not a folder");
        }
        if (!backend.removeFolder(key(p))) {
            throw ErrorCode.NOT_FOUND.exception("no such folder: " + p);
        }
    }

    /** Whether {@link #setModified} works on this user's backend. */
    public boolean keepsModified() {
        return backend instanceof ModifiedTimes;
    }

    /**
     * Sets the modification time of the file at {@code path}, as a client that copies files
     * asks (FTP MFMT); the file as it is then. NOT_FOUND when there is no such file,
     * CONFLICT for a folder, BAD_REQUEST when the backend cannot keep times.
     */
    public ObjectInfo setModified(String path, Instant time) throws IOException {
        require(policy.write(), "set modification times");
        String p = path(path);
        if (!(backend instanceof ModifiedTimes times)) {
            throw ErrorCode.BAD_REQUEST.exception("this storage does not keep modification times");
        }
        String key = key(p);
        ObjectInfo info = backend.stat(key);
        if (info == null) {
            throw ErrorCode.NOT_FOUND.exception("no such file: " + p);
        }
        if (info.folder()) {
            throw ErrorCode.CONFLICT.exception(p + " is a folder");
        }
        times.setModified(key, time);
        ObjectInfo now = backend.stat(key);
        if (now == null) {
            throw ErrorCode.NOT_FOUND.exception("no such file: " + p);
        }
        return now;
    }

    /**
     * An upload being counted. Commit makes the file visible and counts the transfer as
     * completed; abort or close without commit counts it as failed. Either happens once.
     */
    public final class Inbound implements Upload {
        private final String key;
        private final Upload upload;
        private final Transfer transfer;
        /** Bytes this upload may write in all (kept ones included): the smaller of quota room and size limit. */
        private final long limit;
        private boolean replaced;

        private Inbound(String key, Upload upload, Transfer transfer) {
            this.key = key;
            this.upload = upload;
            this.transfer = transfer;
            long room = quotaRoom();
            this.limit = maxUploadBytes > 0 ? Math.min(room, maxUploadBytes) : room;
        }

        @Override
        public void write(ByteBuffer src) throws IOException {
            int n = src.remaining();
            if (upload.written() + n > limit) {
                // Refused before the bytes reach storage; the caller's abort leaves nothing.
                throw tooLarge(maxUploadBytes > 0 && limit == maxUploadBytes);
            }
            try {
                upload.write(src);
            } finally {
                transfer.add(n - src.remaining());
            }
        }

        @Override
        public boolean takesWithoutWaiting(int bytes) {
            return upload.takesWithoutWaiting(bytes);
        }

        /** Client bytes received so far. */
        @Override
        public long written() {
            return transfer.bytes();
        }

        public String path() {
            return transfer.path();
        }

        /** True when the commit replaced an existing file. */
        public boolean replaced() {
            return replaced;
        }

        /**
         * Makes the file visible and counts it. Commits to one key are ordered
         * ({@link CommitLocks}): what this one replaces, the backend's last word and the
         * ledger's stored change all come from the same turn, so the last commit wins and
         * the file is counted once.
         */
        @Override
        public ObjectInfo commit() throws IOException {
            ObjectInfo info;
            StoredChange change;
            CommitLocks.Held turn = null;
            try {
                turn = meter.commitLocks().lock(backend.name(), key);
                ObjectInfo old = backend.stat(key);
                replaced = old != null && !old.folder();
                checkQuotaAtCommit(replaced ? old.size() : 0, replaced);
                info = upload.commit();
                change = replaced
                        ? new StoredChange(backend.name(), user, info.size() - old.size(), 0)
                        : new StoredChange(backend.name(), user, info.size(), 1);
            } catch (IOException | RuntimeException e) {
                if (turn != null) {
                    turn.close();
                }
                upload.abort();
                meter.end(transfer, false, null);
                throw e;
            }
            try {
                meter.end(transfer, true, change);
            } finally {
                turn.close();
            }
            return info;
        }

        @Override
        public void abort() {
            upload.abort();
            meter.end(transfer, false, null);
        }

        /** Other uploads of the same user may have finished meanwhile: the quota is checked again, exactly. */
        private void checkQuotaAtCommit(long replacedSize, boolean replacing) throws GatewayException {
            var stored = meter.storedOf(backend.name(), user);
            if (policy.quotaBytes() > 0 && stored.bytes() - replacedSize + upload.written() > policy.quotaBytes()) {
                throw tooLarge(false);
            }
            if (policy.quotaFiles() > 0 && !replacing && stored.objects() + 1 > policy.quotaFiles()) {
                throw ErrorCode.TOO_LARGE.exception("the quota of " + policy.quotaFiles() + " files is used up");
            }
        }
    }

    /**
     * A download being counted: complete when every expected byte was read before close,
     * failed otherwise. Closing early stops the reading from the backend.
     */
    public final class Outbound extends FilterInputStream {
        private final ObjectInfo info;
        private final long length;
        private final Transfer transfer;
        private long sent;
        private boolean closed;
        private volatile boolean abandoned;

        private Outbound(InputStream in, ObjectInfo info, long length, Transfer transfer) {
            super(in);
            this.info = info;
            this.length = length;
            this.transfer = transfer;
        }

        /** The file as it was when the download started. */
        public ObjectInfo info() {
            return info;
        }

        /** The bytes this download sends. */
        public long length() {
            return length;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                sent++;
                transfer.add(1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                sent += n;
                transfer.add(n);
            }
            return n;
        }

        /**
         * The local file region behind this download, for zero-copy sending, or null
         * (S3). A front end that sends it reports the bytes with {@link #sentDirectly}.
         */
        public FileBacked file() {
            return in instanceof FileBacked f ? f : null;
        }

        /**
         * Counts bytes that a front end sent without reading them through this stream
         * (a zero-copy file region).
         */
        public void sentDirectly(long n) {
            sent += n;
            transfer.add(n);
        }

        /**
         * Marks the download as not delivered although every byte may have been read: the
         * front end read ahead, and the client left before taking the last of it.
         */
        public void abandon() {
            abandoned = true;
        }

        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            try {
                in.close();
            } finally {
                meter.end(transfer, !abandoned && sent == length, null);
            }
        }
    }
}
