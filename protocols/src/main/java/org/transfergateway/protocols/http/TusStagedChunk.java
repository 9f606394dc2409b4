package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.HexFormat;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.StagedUpload;
import org.transfergateway.storage.meter.ResumableUpload;

/**
 * The body of one tus PATCH (or POST with creation-with-upload) of an upload that its
 * backend stages ({@link StagedUpload}; S3): written to the backend as it arrives, full
 * parts sent as they fill, and the running SHA-256 of the upload updated. When the
 * request ends, the backend saves the tail, and the new offset is recorded with the
 * backend's state and the digest's state in one ledger write, a compare-and-set on the
 * offset: what survives a crash is what the ledger says, and a chunk sent again from the
 * recorded offset is simply written again. The last byte commits the upload
 * ({@link Tus#complete}). The caller holds the upload; this releases it when the request
 * ends, however it ends.
 */
final class TusStagedChunk implements UploadTarget {
    private static final Logger log = LoggerFactory.getLogger(TusStagedChunk.class);

    private final Tus tus;
    private final Exchange exchange;
    private final ResumableUpload upload;
    private final TusChecksum checksum;
    private final boolean created;
    private final StagedUpload staged;
    private final SHA256Digest digest;
    private final byte[] copy = new byte[64 * 1024];
    private long written;
    /** The chunk's bytes are to be thrown away, not kept, when the request ends. */
    private boolean discard;
    private boolean ended;

    TusStagedChunk(Tus tus, Exchange exchange, ResumableUpload upload, TusChecksum checksum, boolean created,
                   StagedUpload staged) {
        this.tus = tus;
        this.exchange = exchange;
        this.upload = upload;
        this.checksum = checksum;
        this.created = created;
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
    public void write(ByteBuffer chunk) throws IOException {
        long at = upload.offset() + written;
        if (chunk.remaining() > upload.length() - at) {
            discard = true;
            written += chunk.remaining();
            throw ErrorCode.TOO_LARGE.exception("the chunk goes beyond Upload-Length " + upload.length()
                    + " (offset " + upload.offset() + ")");
        }
        if (checksum != null) {
            checksum.update(chunk);
        }
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

    @Override
    public FullHttpResponse finish() throws IOException {
        if (checksum != null && !checksum.matches()) {
            discard = true;
            throw new TusStatus(460, "Checksum Mismatch", "checksum_mismatch", "the chunk's " + checksum.algorithm()
                    + " does not match Upload-Checksum; it was discarded, the offset stays " + upload.offset());
        }
        ResumableUpload now;
        try {
            now = keep();
            if (now.offset() == now.length()) {
                tus.complete(exchange, now, staged);
            }
        } finally {
            staged.release();
            tus.release(upload.id());
        }
        FullHttpResponse r = exchange.services().responses().empty(created ? HttpResponseStatus.CREATED
                : HttpResponseStatus.NO_CONTENT);
        tus.describe(r.headers(), now);
        if (created) {
            r.headers().set(HttpHeaderNames.LOCATION, Tus.PREFIX + "/" + upload.id());
        }
        return r;
    }

    /** Saves what the backend holds and records it with the new offset; the upload as it is now. */
    private ResumableUpload keep() throws IOException {
        ended = true;
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
    public void abort() {
        try {
            if (ended) {
                return;
            }
            if (discard || checksum != null) {
                // Refused, or cut off before its checksum could be checked: thrown away (the
                // parts it sent lie beyond the recorded state and are sent again later).
                ended = true;
                Caller c = exchange.caller();
                Tus.countFailed(exchange.services().accounts().meter(), c.name(), upload.path(), c.files().backendName(),
                        written, written);
            } else {
                // Cut off: the bytes that arrived stay part of the upload, as tus asks.
                keep();
            }
        } catch (IOException | RuntimeException e) {
            log.warn("tus upload {}: cannot keep what a cut-off chunk brought: {}", upload.id(), e.toString());
        } finally {
            staged.release();
            tus.release(upload.id());
        }
    }
}
