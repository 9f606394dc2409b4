package org.transfergateway.storage;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.function.Consumer;

/**
 * A storage backend: objects named by keys such as {@code alice/reports/q1.csv}.
 *
 * <p>Keys never start with "/" and are already normalised by {@link StoragePaths}; a
 * backend need not check them again. Folders exist as key prefixes: {@code alice/reports}
 * is a folder when a folder marker or any object lies under {@code alice/reports/}.
 *
 * <p>Errors: absence is a {@code null} or {@code false} return where stated; everything
 * else is a {@link GatewayException} carrying an {@link ErrorCode}, or a plain
 * {@link IOException} when the backend could not be reached or failed.
 *
 * <p>Implementations are thread-safe.
 */
public interface Storage extends Closeable {

    /** The configured name of this backend, as in {@code storage.backends[].name}. */
    String name();

    /** The object or folder at {@code key}, or {@code null} when there is neither. */
    ObjectInfo stat(String key) throws IOException;

    /**
     * Starts writing the object {@code key}. Nothing is visible under {@code key} until
     * {@link Upload#commit()} returns; an upload that is aborted or closed without a
     * commit leaves nothing behind (and an object it would have replaced unchanged).
     * The caller owns the returned upload and must close it.
     */
    Upload create(String key) throws IOException;

    /**
     * Like {@link #create(String)}, for a body whose exact size is known before its first
     * byte (an HTTP Content-Length): a backend may then stream it in one request instead
     * of buffering it in parts. Writing more or committing fewer than {@code size} bytes
     * fails the upload.
     */
    default Upload create(String key, long size) throws IOException {
        return SizedUpload.of(create(key), size);
    }

    /**
     * Starts an upload that keeps the first {@code keep} bytes of the object {@code key}
     * and continues with what is written (FTP REST + STOR, APPE); {@link Upload#written()}
     * counts the kept bytes too. The caller has checked that the object has at least
     * {@code keep} bytes. By default the kept bytes are read and written through, lazily,
     * at the first write or commit, so that a journal set on the upload sees any backend
     * upload they open; a backend that can copy on the server side overrides this.
     */
    default Upload createContinuing(String key, long keep) throws IOException {
        return keep <= 0 ? create(key) : new ContinuingUpload(this, key, keep, create(key));
    }

    /**
     * Starts ({@code state} null) or continues ({@code state} as {@link StagedUpload#save()}
     * gave it) an upload of {@code key} that the backend keeps unfinished between requests
     * and restarts: a tus upload that spools nothing on this node. Null when this storage
     * cannot (local disk, Azure, GCS and pools today: the caller keeps the bytes itself).
     * Nothing is counted here: the commit goes through {@link #createStaged}.
     */
    default StagedUpload stage(String key, String state) throws IOException {
        return null;
    }

    /**
     * The commit of a staged upload that received all its bytes, as an upload of
     * {@code staged.size()} bytes whose SHA-256 (lower-case hex, computed as they arrived)
     * is {@code sha256}: every link checks and counts it as it does an upload written
     * here. Writing to it fails; its abort leaves the staged upload to be committed again.
     */
    default Upload createStaged(String key, StagedUpload staged, String sha256) throws IOException {
        if (!staged.key().equals(key)) {
            throw new IllegalArgumentException("the upload staged for " + staged.key() + " cannot be committed at " + key);
        }
        return new StagedCommit(staged);
    }

    /**
     * The bytes {@code [offset, offset + length)} of the object {@code key}, streamed as
     * they are read from the backend; {@code length < 0} reads to the end. Returns
     * {@code null} when there is no such object. The caller closes the stream; closing
     * it early stops the reading from the backend.
     */
    InputStream read(String key, long offset, long length) throws IOException;

    /**
     * The entries one level below the folder {@code dirKey} ({@code ""} for the root),
     * sorted by name, folder markers left out. An absent folder gives an empty list.
     */
    List<ObjectInfo> list(String dirKey) throws IOException;

    /**
     * Every object under the folder {@code dirKey} at any depth, folder markers left out,
     * handed to {@code sink} one by one as the backend lists them (for reconciling).
     */
    void walk(String dirKey, Consumer<ObjectInfo> sink) throws IOException;

    /** Removes the object {@code key}; {@code false} when there was none. */
    boolean delete(String key) throws IOException;

    /**
     * Renames the object {@code from} to {@code to}, replacing {@code to}. Throws
     * {@link ErrorCode#NOT_FOUND} when {@code from} does not exist.
     */
    void move(String from, String to) throws IOException;

    /** Makes the folder {@code dirKey} exist (a marker object on S3). Existing is fine. */
    void makeFolder(String dirKey) throws IOException;

    /**
     * Removes the empty folder {@code dirKey}; {@code false} when it did not exist.
     * Throws {@link ErrorCode#NOT_EMPTY} when something lies under it.
     */
    boolean removeFolder(String dirKey) throws IOException;

    /**
     * Copies the object {@code key} of {@code source} to the same key here on the service's
     * own side, without its bytes passing through the gateway: for two buckets that one
     * S3 service holds under the same credentials. Visible only once complete, like an
     * upload. Returns the copy as committed, or null when this storage cannot copy from
     * that source (the caller then streams the object); NOT_FOUND when it is absent.
     */
    default ObjectInfo copyFrom(Storage source, String key) throws IOException {
        return null;
    }

    /**
     * Whether this storage spreads objects over backends and reports where, in
     * {@link ObjectInfo#copies()} of {@link #stat}, {@link #walk} and of a commit (a pool).
     * The ledger must then record every copy.
     */
    default boolean placesCopies() {
        return false;
    }

    /**
     * Whether {@link #setModified} works here: a backend that cannot keep a time that its
     * own listings then report does not offer it.
     */
    default boolean keepsModified() {
        return false;
    }

    /**
     * Sets the modification time of the object {@code key} as {@link #stat} and
     * {@link #list} report it, so that a client that copies files (rclone, lftp's mirror)
     * keeps their original times. {@link ErrorCode#NOT_FOUND} when there is none,
     * {@link ErrorCode#BAD_REQUEST} where {@link #keepsModified()} is false.
     */
    default void setModified(String key, java.time.Instant time) throws IOException {
        throw ErrorCode.BAD_REQUEST.exception("this storage does not keep modification times");
    }

    /**
     * The SHA-256 that the ledger recorded for the object {@code key} when it was last
     * committed whole through the gateway ({@link org.transfergateway.storage.chain.Metering}),
     * or null when none is: the caller compares its size with the object's to see that the
     * object did not change since. Only a lookup: nothing is read from the backend.
     */
    default org.transfergateway.storage.meter.ObjectDigest recordedDigest(String key) throws IOException {
        return null;
    }

    /**
     * The {@code algorithm} digest of the whole object {@code key}, or null when there is
     * no such file (a folder included). The metering answers a SHA-256 it recorded; other
     * digests, and one not recorded, are computed here by reading the object, a read that
     * is no transfer: the links above the metering let this call through to it.
     * {@link ErrorCode#CONFLICT} when the object changed while it was read.
     */
    default byte[] digest(String key, DigestAlgorithm algorithm) throws IOException {
        ObjectInfo info = stat(key);
        if (info == null || info.folder()) {
            return null;
        }
        DigestAlgorithm.Hasher hasher = algorithm.start();
        long read = 0;
        try (InputStream in = read(key, 0, -1)) {
            if (in == null) {
                return null;
            }
            byte[] buf = new byte[256 * 1024];
            for (int n; (n = in.read(buf)) >= 0; ) {
                hasher.update(buf, 0, n);
                read += n;
            }
        }
        if (read != info.size()) {
            throw ErrorCode.CONFLICT.exception("the file changed while its digest was computed");
        }
        return hasher.finish();
    }
}
