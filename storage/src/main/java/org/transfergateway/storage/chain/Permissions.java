package org.transfergateway.storage.chain;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.List;
import org.transfergateway.config.UserPolicy;
import org.transfergateway.storage.DigestAlgorithm;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.StagedUpload;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.meter.ObjectDigest;

/**
 * The first link of a user's chain: refuses what the user's {@link UserPolicy} does not
 * allow with {@link ErrorCode#FORBIDDEN}, before anything is counted or stored. A user
 * who may not delete may not replace a file either, by upload or by rename; only then
 * does this link look at what lies at the key.
 */
public final class Permissions extends ForwardingStorage {
    private final String user;
    private final UserPolicy policy;

    public Permissions(Storage next, String user, UserPolicy policy) {
        super(next);
        this.user = user;
        this.policy = policy;
    }

    private void require(boolean allowed, String what) throws GatewayException {
        if (!allowed) {
            throw ErrorCode.FORBIDDEN.exception(user + " may not " + what);
        }
    }

    /** Without the right to delete, an upload may only add bytes to a file, never drop any. */
    private void requireNoLoss(String key, long keep) throws IOException {
        require(policy.write(), "upload");
        if (!policy.delete()) {
            ObjectInfo existing = next.stat(key);
            if (existing != null && !existing.folder() && keep < existing.size()) {
                throw ErrorCode.FORBIDDEN.exception(user + " may not replace an existing file: it may not delete");
            }
        }
    }

    @Override
    public Upload create(String key) throws IOException {
        requireNoLoss(key, 0);
        return next.create(key);
    }

    @Override
    public Upload create(String key, long size) throws IOException {
        requireNoLoss(key, 0);
        return next.create(key, size);
    }

    @Override
    public Upload createContinuing(String key, long keep) throws IOException {
        requireNoLoss(key, keep);
        return next.createContinuing(key, keep);
    }

    /**
     * Checked when the upload starts and again at its commit ({@link #createStaged}); one
     * under way may always be continued or discarded, so that it never outlives its expiry.
     */
    @Override
    public StagedUpload stage(String key, String state) throws IOException {
        if (state == null) {
            requireNoLoss(key, 0);
        }
        return next.stage(key, state);
    }

    @Override
    public Upload createStaged(String key, StagedUpload staged, String sha256) throws IOException {
        requireNoLoss(key, 0);
        return next.createStaged(key, staged, sha256);
    }

    @Override
    public InputStream read(String key, long offset, long length) throws IOException {
        require(policy.read(), "download");
        return next.read(key, offset, length);
    }

    /** A digest tells of the content: a user who may not download sees none (HEAD goes on without it). */
    @Override
    public ObjectDigest recordedDigest(String key) throws IOException {
        return policy.read() ? next.recordedDigest(key) : null;
    }

    /** A digest tells of the content: as for a download. */
    @Override
    public byte[] digest(String key, DigestAlgorithm algorithm) throws IOException {
        require(policy.read(), "download");
        return next.digest(key, algorithm);
    }

    @Override
    public List<ObjectInfo> list(String dirKey) throws IOException {
        require(policy.read(), "list folders");
        return next.list(dirKey);
    }

    @Override
    public boolean delete(String key) throws IOException {
        require(policy.delete(), "delete");
        return next.delete(key);
    }

    @Override
    public void move(String from, String to) throws IOException {
        require(policy.write(), "rename");
        if (!policy.delete()) {
            ObjectInfo replaced = next.stat(to);
            require(replaced == null || replaced.folder(), "replace a file by renaming: it may not delete");
        }
        next.move(from, to);
    }

    @Override
    public void makeFolder(String dirKey) throws IOException {
        require(policy.write(), "make folders");
        next.makeFolder(dirKey);
    }

    @Override
    public boolean removeFolder(String dirKey) throws IOException {
        require(policy.delete(), "remove folders");
        return next.removeFolder(dirKey);
    }

    @Override
    public void setModified(String key, Instant time) throws IOException {
        require(policy.write(), "set modification times");
        next.setModified(key, time);
    }
}
