package org.transfergateway.storage.chain;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.transfergateway.config.UserPolicy;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.meter.StoredTotals;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * Keeps a user's uploads within the size limit and the user's quota of bytes and files,
 * as the meter counts what the user stores. Only in the chain of a user who has a limit.
 *
 * <p>An announced size over the room is refused before the upload starts (before an HTTP
 * client sends its body); a write that would pass the room is refused before its bytes
 * reach storage; and since other uploads of the same user may finish meanwhile, the quota
 * is checked again, exactly, at the commit. The commit runs under the key's commit lock,
 * taken by {@link Metering} above, so what it replaces cannot change under it.
 */
public final class Quota extends ForwardingStorage {
    private final String user;
    private final UserPolicy policy;
    private final long maxUploadBytes;
    private final TransferMeter meter;

    /** @param maxUploadBytes the largest file one upload may write, 0 for no limit */
    public Quota(Storage next, String user, UserPolicy policy, long maxUploadBytes, TransferMeter meter) {
        super(next);
        this.user = user;
        this.policy = policy;
        this.maxUploadBytes = maxUploadBytes;
        this.meter = meter;
    }

    /** Whether a user with {@code policy} needs this link at all. */
    public static boolean needed(UserPolicy policy, long maxUploadBytes) {
        return maxUploadBytes > 0 || policy.quotaBytes() > 0 || policy.quotaFiles() > 0;
    }

    private StoredTotals stored() {
        return meter.storedOfUser(user);
    }

    /** Bytes the user may still add, or Long.MAX_VALUE without a quota. */
    private long room() {
        return policy.quotaBytes() <= 0 ? Long.MAX_VALUE : Math.max(0, policy.quotaBytes() - stored().bytes());
    }

    private GatewayException tooLarge(boolean bySizeLimit) {
        return ErrorCode.TOO_LARGE.exception(bySizeLimit
                ? "the file is larger than the limit of " + maxUploadBytes + " bytes"
                : "the quota of " + policy.quotaBytes() + " bytes would be exceeded");
    }

    private GatewayException tooManyFiles() {
        return ErrorCode.TOO_LARGE.exception("the quota of " + policy.quotaFiles() + " files is used up");
    }

    /** At the quota of files, only an existing file may be written again. */
    private void refuseNewFileOverQuota(String key) throws IOException {
        if (policy.quotaFiles() > 0 && stored().objects() >= policy.quotaFiles()) {
            ObjectInfo existing = next.stat(key);
            if (existing == null || existing.folder()) {
                throw tooManyFiles();
            }
        }
    }

    @Override
    public Upload create(String key) throws IOException {
        refuseNewFileOverQuota(key);
        return new Limited(next.create(key), key);
    }

    @Override
    public Upload create(String key, long size) throws IOException {
        refuseNewFileOverQuota(key);
        if (maxUploadBytes > 0 && size > maxUploadBytes) {
            throw tooLarge(true);
        }
        if (size > room()) {
            throw tooLarge(false);
        }
        return new Limited(next.create(key, size), key);
    }

    @Override
    public Upload createContinuing(String key, long keep) throws IOException {
        refuseNewFileOverQuota(key);
        return new Limited(next.createContinuing(key, keep), key);
    }

    /** An upload held to the smaller of quota room and size limit, kept bytes included. */
    private final class Limited extends ForwardingUpload {
        private final String key;
        private final long limit;

        Limited(Upload upload, String key) {
            super(upload);
            this.key = key;
            long room = room();
            this.limit = maxUploadBytes > 0 ? Math.min(room, maxUploadBytes) : room;
        }

        @Override
        public void write(ByteBuffer src) throws IOException {
            if (next.written() + src.remaining() > limit) {
                // Refused before the bytes reach storage; the caller's abort leaves nothing.
                throw tooLarge(maxUploadBytes > 0 && limit == maxUploadBytes);
            }
            next.write(src);
        }

        @Override
        public ObjectInfo commit() throws IOException {
            ObjectInfo old = Quota.this.next.stat(key);
            boolean replacing = old != null && !old.folder();
            StoredTotals now = stored();
            if (policy.quotaBytes() > 0 && now.bytes() - (replacing ? old.size() : 0) + next.written() > policy.quotaBytes()) {
                next.abort();
                throw tooLarge(false);
            }
            if (policy.quotaFiles() > 0 && !replacing && now.objects() + 1 > policy.quotaFiles()) {
                next.abort();
                throw tooManyFiles();
            }
            return next.commit();
        }
    }
}
