package org.transfergateway.storage;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.transfergateway.config.UserPolicy;
import org.transfergateway.storage.chain.FolderRoutes;
import org.transfergateway.storage.chain.ForwardingUpload;
import org.transfergateway.storage.chain.Metering;
import org.transfergateway.storage.chain.Permissions;
import org.transfergateway.storage.chain.Quota;
import org.transfergateway.storage.meter.Protocol;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * One user's files as a front end sees them: user paths ("/" is the home) in, backend
 * keys out. Every front end goes through this class and nothing else, so they normalise,
 * refuse and count alike.
 *
 * <p>It assembles the user's chain of storage links, each for one concern:
 * {@link Permissions} (what the user may do) -> {@link FolderRoutes} (only for a user
 * with folder rules) -> {@link Metering} (every transfer and stored change counted) ->
 * {@link Quota} (only for a user with limits) -> the backend or pool. What is left here is the user's view: paths, the home, and errors in the
 * user's words.
 *
 * <p>Paths given to the methods are user paths, absolute or relative to "/"; they pass
 * through {@link StoragePaths#normalize} here.
 */
public final class UserFiles {
    private final Storage backend;
    private final Storage chain;
    private final String user;
    private final String home;
    private final UserPolicy policy;

    /**
     * @param policy         what the user may do; refusals are {@link ErrorCode#FORBIDDEN},
     *                       a quota or size overrun {@link ErrorCode#TOO_LARGE}
     * @param maxUploadBytes the largest file one upload may write, 0 for no limit
     */
    public UserFiles(Storage backend, String user, String home, Protocol protocol, TransferMeter meter,
                     UserPolicy policy, long maxUploadBytes) {
        this(backend, Map.of(), user, home, protocol, meter, policy, maxUploadBytes);
    }

    /**
     * @param folders the user's folders ("/archive") whose files live on another backend or
     *                pool than {@code backend}; the longest folder covering a path wins
     */
    public UserFiles(Storage backend, Map<String, Storage> folders, String user, String home, Protocol protocol,
                     TransferMeter meter, UserPolicy policy, long maxUploadBytes) {
        this.backend = backend;
        this.user = user;
        this.home = home;
        this.policy = policy;
        Storage own = counted(backend, protocol, meter, maxUploadBytes);
        if (!folders.isEmpty()) {
            Map<String, Storage> routes = new HashMap<>();
            for (Map.Entry<String, Storage> f : folders.entrySet()) {
                try {
                    routes.put(key(path(f.getKey())), counted(f.getValue(), protocol, meter, maxUploadBytes));
                } catch (GatewayException e) {
                    throw new IllegalArgumentException("folder rule " + f.getKey() + ": " + e.getMessage());
                }
            }
            own = new FolderRoutes(own, routes);
        }
        this.chain = new Permissions(own, user, policy);
    }

    /** The links that count and limit what goes to one backend or pool. */
    private Storage counted(Storage target, Protocol protocol, TransferMeter meter, long maxUploadBytes) {
        Storage below = Quota.needed(policy, maxUploadBytes)
                ? new Quota(target, user, policy, maxUploadBytes, meter) : target;
        return new Metering(below, user, protocol, meter, this::pathOf);
    }

    public UserFiles(Storage backend, String user, String home, Protocol protocol, TransferMeter meter) {
        this(backend, user, home, protocol, meter, UserPolicy.UNLIMITED, 0);
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

    /**
     * Refuses, as every operation here would, a path that leads above the home, holds a
     * backslash or a control character, or makes a key too long; for a front end that must
     * answer before it asks anything else of a path (SFTP checks existence first).
     */
    public void checkPath(String path) throws GatewayException {
        key(path(path));
    }

    /** The user's path of a key under the home. */
    private String pathOf(String key) {
        String h = home.equals("/") ? "" : home.substring(1);
        if (h.isEmpty()) {
            return "/" + key;
        }
        return key.length() <= h.length() ? "/" : key.substring(h.length());
    }

    /** The file or folder at {@code path}, or null. The home itself always exists. */
    public ObjectInfo stat(String path) throws IOException {
        String p = path(path);
        if (p.equals("/")) {
            ObjectInfo h = chain.stat(key(p));
            return h != null && h.folder() ? h : ObjectInfo.folder(key(p), Instant.EPOCH);
        }
        return chain.stat(key(p));
    }

    /** The entries of the folder {@code path}; NOT_FOUND when it is neither a folder nor the home. */
    public List<ObjectInfo> list(String path) throws IOException {
        String p = path(path);
        ObjectInfo dir = stat(p);
        if (dir == null) {
            throw ErrorCode.NOT_FOUND.exception("no such folder: " + p);
        }
        if (!dir.folder()) {
            throw ErrorCode.CONFLICT.exception(p + " is a file, not a folder");
        }
        return chain.list(key(p));
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
        return new Inbound(chain.create(fileKey(path), size));
    }

    /**
     * Starts ({@code state} null) or continues an upload to {@code path} that the backend
     * keeps unfinished between requests and restarts ({@link Storage#stage}); null when the
     * path's backend cannot. Permissions are checked here; nothing is counted until
     * {@link #commitStaged}.
     */
    public StagedUpload stage(String path, String state) throws IOException {
        return chain.stage(fileKey(path), state);
    }

    /**
     * The commit of a staged upload that has all its bytes, through the user's chain as an
     * upload of its size with the SHA-256 computed as they arrived: permissions and quota
     * checked, one transfer counted, the stored change and digest recorded.
     */
    public Inbound commitStaged(String path, StagedUpload staged, String sha256) throws IOException {
        return new Inbound(chain.createStaged(fileKey(path), staged, sha256));
    }

    /**
     * Starts an upload that keeps the first {@code keep} bytes of the existing file and
     * continues with what the client sends (FTP REST + STOR, and APPE with
     * {@code keep = size}). Only the client's bytes count as transferred.
     */
    public Inbound upload(String path, long keep) throws IOException {
        String key = fileKey(path);
        if (keep > 0) {
            ObjectInfo existing = chain.stat(key);
            boolean file = existing != null && !existing.folder();
            if (!file || existing.size() < keep) {
                throw ErrorCode.BAD_REQUEST.exception("cannot resume at " + keep + ": the file has "
                        + (file ? existing.size() : "no") + " bytes");
            }
            return new Inbound(chain.createContinuing(key, keep));
        }
        return new Inbound(chain.create(key));
    }

    /** The key of a file to write; the home is not one. */
    private String fileKey(String path) throws GatewayException {
        String p = path(path);
        if (p.equals("/")) {
            throw ErrorCode.CONFLICT.exception("the home folder cannot be written as a file");
        }
        return key(p);
    }

    /**
     * Opens {@code [offset, offset + length)} of the file at {@code path} for sending;
     * {@code length < 0} means to the end. NOT_FOUND when there is no such file.
     */
    public Outbound download(String path, long offset, long length) throws IOException {
        String p = path(path);
        String key = key(p);
        ObjectInfo info = chain.stat(key);
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
        InputStream in = chain.read(key, offset, expected);
        if (in == null) {
            throw ErrorCode.NOT_FOUND.exception("no such file: " + p);
        }
        return new Outbound((Metering.Sent) in, info, expected);
    }

    /**
     * The {@code algorithm} digest of the whole file at {@code path}: a SHA-256 as recorded
     * when the file was uploaded, else computed by reading the file, a read that counts as
     * no download. NOT_FOUND when there is no such file, CONFLICT for a folder.
     */
    public byte[] digest(String path, DigestAlgorithm algorithm) throws IOException {
        String p = path(path);
        String key = key(p);
        byte[] d = chain.digest(key, algorithm);
        if (d == null) {
            ObjectInfo info = chain.stat(key);
            if (info != null && info.folder() || p.equals("/")) {
                throw ErrorCode.CONFLICT.exception(p + " is a folder");
            }
            throw ErrorCode.NOT_FOUND.exception("no such file: " + p);
        }
        return d;
    }

    /**
     * The SHA-256 of the file {@code info} (as {@link #stat} gave it) as recorded when it was
     * uploaded; null when none is, or when the file's size is no longer the size recorded.
     * Reads nothing from the backend.
     */
    public byte[] recordedSha256(ObjectInfo info) throws IOException {
        if (info == null || info.folder()) {
            return null;
        }
        org.transfergateway.storage.meter.ObjectDigest d = chain.recordedDigest(info.key());
        return d != null && d.size() == info.size() ? java.util.HexFormat.of().parseHex(d.sha256()) : null;
    }

    /** Deletes the file at {@code path}; NOT_FOUND when there is none. */
    public void delete(String path) throws IOException {
        String p = path(path);
        if (!chain.delete(key(p))) {
            throw ErrorCode.NOT_FOUND.exception("no such file: " + p);
        }
    }

    /** Renames a file or folder; a file already at {@code to} is replaced. */
    public void move(String from, String to) throws IOException {
        String f = path(from);
        String t = path(to);
        if (f.equals("/") || t.equals("/")) {
            throw ErrorCode.CONFLICT.exception("the home folder cannot be renamed or replaced");
        }
        chain.move(key(f), key(t));
    }

    public void makeFolder(String path) throws IOException {
        String p = path(path);
        ObjectInfo existing = stat(p);
        if (existing != null) {
            throw ErrorCode.CONFLICT.exception(p + " already exists");
        }
        chain.makeFolder(key(p));
    }

    public void removeFolder(String path) throws IOException {
        String p = path(path);
        if (p.equals("/")) {
            throw ErrorCode.CONFLICT.exception("the home folder cannot be removed");
        }
        ObjectInfo existing = chain.stat(key(p));
        if (existing == null) {
            throw ErrorCode.NOT_FOUND.exception("no such folder: " + p);
        }
        if (!existing.folder()) {
            throw ErrorCode.CONFLICT.exception(p + " is a file, not a folder");
        }
        if (!chain.removeFolder(key(p))) {
            throw ErrorCode.NOT_FOUND.exception("no such folder: " + p);
        }
    }

    /** Whether {@link #setModified} works on this user's storage. */
    public boolean keepsModified() {
        return chain.keepsModified();
    }

    /**
     * Sets the modification time of the file at {@code path}, as a client that copies files
     * asks (FTP MFMT); the file as it is then. NOT_FOUND when there is no such file,
     * CONFLICT for a folder, BAD_REQUEST when the storage cannot keep times.
     */
    public ObjectInfo setModified(String path, Instant time) throws IOException {
        String p = path(path);
        if (!chain.keepsModified()) {
            throw ErrorCode.BAD_REQUEST.exception("this storage does not keep modification times");
        }
        String key = key(p);
        ObjectInfo info = chain.stat(key);
        if (info == null) {
            throw ErrorCode.NOT_FOUND.exception("no such file: " + p);
        }
        if (info.folder()) {
            throw ErrorCode.CONFLICT.exception(p + " is a folder");
        }
        chain.setModified(key, time);
        ObjectInfo now = chain.stat(key);
        if (now == null) {
            throw ErrorCode.NOT_FOUND.exception("no such file: " + p);
        }
        return now;
    }

    /**
     * An upload being counted ({@link Metering.Counted}). Commit makes the file visible and
     * counts the transfer as completed; abort or close without commit counts it as failed.
     */
    public static final class Inbound extends ForwardingUpload {
        private final Metering.Counted counted;

        private Inbound(Upload counted) {
            super(counted);
            this.counted = (Metering.Counted) counted;
        }

        public String path() {
            return counted.path();
        }

        /** The client's bytes this upload should bring, announced after it began; for the live view. */
        public void expect(long clientBytes) {
            counted.expect(clientBytes);
        }

        /** True when the commit replaced an existing file. */
        public boolean replaced() {
            return counted.replaced();
        }

        /** See {@link Metering.Counted#expect(DigestAlgorithm, byte[])}. */
        public void expectDigest(DigestAlgorithm algorithm, byte[] value) throws IOException {
            counted.expect(algorithm, value);
        }
    }

    /** A download being counted ({@link Metering.Sent}), with what it sends. */
    public static final class Outbound extends FilterInputStream {
        private final Metering.Sent sent;
        private final ObjectInfo info;
        private final long length;

        private Outbound(Metering.Sent sent, ObjectInfo info, long length) {
            super(sent);
            this.sent = sent;
            this.info = info;
            this.length = length;
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
        public int read(byte[] b, int off, int len) throws IOException {
            return sent.read(b, off, len);
        }

        /** The local file region behind this download, for zero-copy sending, or null (S3). */
        public FileBacked file() {
            return sent.file();
        }

        /** Counts bytes that a front end sent without reading them through this stream. */
        public void sentDirectly(long n) {
            sent.sentDirectly(n);
        }

        /**
         * Marks the download as not delivered although every byte may have been read: the
         * front end read ahead, and the client left before taking the last of it.
         */
        public void abandon() {
            sent.abandon();
        }
    }
}
