package org.transfergateway.storage.chain;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.transfergateway.config.UserPolicy;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.StagedUpload;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.meter.Ledger;
import org.transfergateway.storage.meter.QuotaReservations;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * Keeps a user's uploads within the size limit and the user's quota of bytes and files,
 * as the meter counts what the user stores. Only in the chain of a user who has a limit.
 *
 * <p>An upload reserves the quota it may use before its bytes reach storage
 * ({@link QuotaReservations}): the size it announces at once (refused before an HTTP client
 * sends its body when it does not fit), else in growing steps as its writes arrive, so that
 * a shared ledger is not asked at every write; and one file, unless it replaces one. The
 * room is the quota less what is stored and what every upload in progress holds, on every
 * node sharing the ledger, so two uploads never both fill the last free bytes. A write
 * that does not fit is refused before its bytes reach storage. The reservation ends once
 * the commit's stored change is recorded ({@link Upload#recorded()}), or at the failure.
 */
public final class Quota extends ForwardingStorage {
    /** The first step by which an upload of unknown size reserves quota. */
    static final long FIRST_STEP = 1L << 20;
    /** The largest step: at most this much more than it wrote is held by one upload. */
    static final long MAX_STEP = 64L << 20;

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

    private boolean hasQuota() {
        return policy.quotaBytes() > 0 || policy.quotaFiles() > 0;
    }

    private GatewayException tooLarge(boolean bySizeLimit) {
        return ErrorCode.TOO_LARGE.exception(bySizeLimit
                ? "the file is larger than the limit of " + maxUploadBytes + " bytes"
                : "the quota of " + policy.quotaBytes() + " bytes would be exceeded");
    }

    private GatewayException tooManyFiles() {
        return ErrorCode.TOO_LARGE.exception("the quota of " + policy.quotaFiles() + " files is used up");
    }

    /**
     * The reservation of an upload to {@code key}: at least {@code minBytes}, up to
     * {@code wantBytes}, and a file unless the upload replaces one; null without a quota.
     */
    private QuotaReservations.Reservation reserve(String key, long minBytes, long wantBytes) throws IOException {
        if (!hasQuota()) {
            return null;
        }
        QuotaReservations.Reservation r = meter.quotaReservations().open(user, policy.quotaBytes(), policy.quotaFiles());
        long bytesMin = policy.quotaBytes() > 0 ? minBytes : 0;
        long bytesWant = policy.quotaBytes() > 0 ? wantBytes : 0;
        long got = r.add(bytesMin, bytesWant, policy.quotaFiles() > 0 ? 1 : 0);
        if (got == Ledger.NO_ROOM_FILES) {
            // At the quota of files, only an existing file may be written again.
            ObjectInfo existing = next.stat(key);
            if (existing == null || existing.folder()) {
                r.release();
                throw tooManyFiles();
            }
            got = r.add(bytesMin, bytesWant, 0);
        }
        if (got < 0) {
            r.release();
            throw tooLarge(false);
        }
        return r;
    }

    @Override
    public Upload create(String key) throws IOException {
        return limited(key, reserve(key, 0, FIRST_STEP), () -> next.create(key));
    }

    @Override
    public Upload create(String key, long size) throws IOException {
        if (maxUploadBytes > 0 && size > maxUploadBytes) {
            throw tooLarge(true);
        }
        return limited(key, reserve(key, size, size), () -> next.create(key, size));
    }

    @Override
    public Upload createContinuing(String key, long keep) throws IOException {
        // The kept bytes are written again: the reservation holds them too.
        return limited(key, reserve(key, keep, keep + FIRST_STEP), () -> next.createContinuing(key, keep));
    }

    /** The whole staged upload must fit, as an upload announcing its size does. */
    @Override
    public Upload createStaged(String key, StagedUpload staged, String sha256) throws IOException {
        if (maxUploadBytes > 0 && staged.size() > maxUploadBytes) {
            throw tooLarge(true);
        }
        return limited(key, reserve(key, staged.size(), staged.size()), () -> next.createStaged(key, staged, sha256));
    }

    private interface Opener {
        Upload open() throws IOException;
    }

    private Upload limited(String key, QuotaReservations.Reservation r, Opener opener) throws IOException {
        try {
            return new Limited(opener.open(), key, r);
        } catch (IOException | RuntimeException e) {
            if (r != null) {
                r.release();
            }
            throw e;
        }
    }

    /** An upload held to its reservation and the size limit, kept bytes included. */
    private final class Limited extends ForwardingUpload {
        private final String key;
        private final QuotaReservations.Reservation reservation;

        Limited(Upload upload, String key, QuotaReservations.Reservation reservation) {
            super(upload);
            this.key = key;
            this.reservation = reservation;
        }

        /** True when {@code more} bytes fit what the reservation holds already. */
        private boolean held(long more) {
            return reservation == null || policy.quotaBytes() <= 0 || next.written() + more <= reservation.bytes();
        }

        @Override
        public boolean takesWithoutWaiting(int bytes) {
            // Growing a reservation may wait for a shared ledger.
            return (held(bytes) || !meter.quotaReservations().remote()) && next.takesWithoutWaiting(bytes);
        }

        @Override
        public void write(ByteBuffer src) throws IOException {
            long after = next.written() + src.remaining();
            if (maxUploadBytes > 0 && after > maxUploadBytes) {
                // Refused before the bytes reach storage; the caller's abort leaves nothing.
                throw tooLarge(true);
            }
            if (!held(src.remaining())) {
                long need = after - reservation.bytes();
                long step = Math.min(MAX_STEP, Math.max(FIRST_STEP, reservation.bytes()));
                if (reservation.add(need, Math.max(need, step), 0) < 0) {
                    throw tooLarge(false);
                }
            }
            next.write(src);
        }

        @Override
        public ObjectInfo commit() throws IOException {
            if (reservation != null && policy.quotaFiles() > 0 && !holdsFile()) {
                // Reserved no file since it replaced one: if that one went meanwhile, a file is needed now.
                ObjectInfo old = Quota.this.next.stat(key);
                if ((old == null || old.folder()) && reservation.add(0, 0, 1) < 0) {
                    next.abort();
                    reservation.release();
                    throw tooManyFiles();
                }
            }
            try {
                return next.commit();
            } catch (IOException | RuntimeException e) {
                abort();
                throw e;
            }
        }

        private boolean holdsFile() {
            return reservation.files() > 0;
        }

        @Override
        public void recorded() {
            try {
                next.recorded();
            } finally {
                if (reservation != null) {
                    reservation.release();
                }
            }
        }

        @Override
        public void abort() {
            try {
                next.abort();
            } finally {
                if (reservation != null) {
                    reservation.release();
                }
            }
        }
    }
}
