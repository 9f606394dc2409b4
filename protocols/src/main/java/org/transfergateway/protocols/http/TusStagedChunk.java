package org.transfergateway.protocols.http;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.HexFormat;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.StagedUpload;
import org.transfergateway.storage.meter.ResumableUpload;

/**
 * A tus chunk of an upload that its backend stages ({@link StagedUpload}; S3): written to
 * the backend as it arrives, full parts sent as they fill, and the running SHA-256 of the
 * upload updated. When the request ends, the backend saves the tail, and the new offset
 * is recorded with the backend's state and the digest's state in one ledger write, a
 * compare-and-set on the offset: what survives a crash is what the ledger says, and a
 * chunk sent again from the recorded offset is simply written again.
 */
final class TusStagedChunk extends TusChunk {
    private final StagedUpload staged;
    private final SHA256Digest digest;
    private final byte[] copy = new byte[64 * 1024];

    TusStagedChunk(Tus tus, Exchange exchange, ResumableUpload upload, TusChecksum checksum, boolean created,
                   StagedUpload staged) {
        super(tus, exchange, upload, checksum, created);
        this.staged = staged;
        this.digest = digest(upload.digestState());
    }

    /** The running SHA-256 that {@code state} describes; a new one for null. */
    static SHA256Digest digest(String state) {
        return state == null ? new SHA256Digest() : new SHA256Digest(Base64.getDecoder().decode(state));
    }

    /** The running SHA-256's state as text, for the ledger. */
    static String state(SHA256Digest digest) {
        return Base64.getEncoder().encodeToString(digest.getEncodedState());
    }

    /** The SHA-256 (lower-case hex) of all the bytes that the running state {@code state} took. */
    static String sha256(String state) {
        SHA256Digest d = digest(state);
        byte[] out = new byte[d.getDigestSize()];
        d.doFinal(out, 0);
        return HexFormat.of().formatHex(out);
    }

    @Override
    void take(ByteBuffer chunk, long at) throws IOException {
        ByteBuffer d = chunk.duplicate();
        while (d.hasRemaining()) {
            int n = Math.min(copy.length, d.remaining());
            d.get(copy, 0, n);
            digest.update(copy, 0, n);
        }
        int n = chunk.remaining();
        staged.write(chunk);
        written += n;
    }

    /** Saves what the backend holds and records it with the new offset. */
    @Override
    ResumableUpload record() throws IOException {
        if (written == 0) {
            return upload;
        }
        String state = staged.save();
        String digestState = state(digest);
        long to = upload.offset() + written;
        if (!Tus.uploads(exchange).advanceUpload(upload.id(), upload.offset(), to, state, digestState)) {
            throw ErrorCode.CONFLICT.exception("the upload " + Tus.PREFIX + "/" + upload.id()
                    + " ended or moved on meanwhile (another request wrote to it)");
        }
        staged.saved();
        return upload.at(to, state, digestState);
    }

    @Override
    void complete(ResumableUpload now) throws IOException {
        tus.complete(exchange, now, staged);
    }

    /** Nothing to undo: the parts it sent lie beyond the recorded state and are sent again later. */
    @Override
    void drop() {
    }

    @Override
    void release() {
        staged.release();
    }
}
