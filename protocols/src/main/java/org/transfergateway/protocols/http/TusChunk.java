package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.meter.ResumableUpload;

/**
 * The body of one tus PATCH (or of a POST with creation-with-upload), wherever the
 * upload's bytes wait: the checks every chunk gets (Upload-Length, Upload-Checksum), the
 * answer, and what a request that ends early leaves. A chunk refused after its bytes
 * arrived is thrown away and counted as one failed transfer of them; one cut off midway
 * keeps what arrived, as tus asks. The last byte of the upload commits it
 * ({@link Tus#complete}). The caller holds the upload (see {@link Tus}); this releases it
 * when the request ends, however it ends.
 *
 * <p>Where the bytes go is the subclass's: {@link TusFileChunk} (a part file on this node)
 * or {@link TusStagedChunk} (an upload its backend stages).
 */
abstract class TusChunk implements UploadTarget {
    private static final Logger log = LoggerFactory.getLogger(TusChunk.class);

    final Tus tus;
    final Exchange exchange;
    final ResumableUpload upload;
    private final TusChecksum checksum;
    private final boolean created;
    /** Bytes of this chunk taken so far; the subclass counts them as it keeps them. */
    long written;
    /** The chunk's bytes are to be thrown away, not kept, when the request ends. */
    private boolean discard;
    private boolean ended;

    TusChunk(Tus tus, Exchange exchange, ResumableUpload upload, TusChecksum checksum, boolean created) {
        this.tus = tus;
        this.exchange = exchange;
        this.upload = upload;
        this.checksum = checksum;
        this.created = created;
    }

    /** Keeps the bytes of {@code chunk}, which start at {@code at} of the upload, adding them to {@link #written}. */
    abstract void take(ByteBuffer chunk, long at) throws IOException;

    /** Makes the bytes taken durable and records the new offset; the upload as it is now. */
    abstract ResumableUpload record() throws IOException;

    /** Commits the complete upload {@code now} at its target. */
    abstract void complete(ResumableUpload now) throws IOException;

    /** Throws away the bytes taken: the upload stays at its recorded offset. */
    abstract void drop() throws IOException;

    /** Lets go of what the request held; once, when it ends. */
    void release() {
    }

    @Override
    public final void write(ByteBuffer chunk) throws IOException {
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
        take(chunk, at);
    }

    @Override
    public final FullHttpResponse finish() throws IOException {
        if (checksum != null && !checksum.matches()) {
            discard = true;
            throw new TusStatus(460, "Checksum Mismatch", "checksum_mismatch", "the chunk's " + checksum.algorithm()
                    + " does not match Upload-Checksum; it was discarded, the offset stays " + upload.offset());
        }
        ResumableUpload now;
        try {
            now = keep();
            if (now.offset() == now.length()) {
                complete(now);
            }
        } finally {
            release();
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

    private ResumableUpload keep() throws IOException {
        ended = true;
        return record();
    }

    @Override
    public final void abort() {
        try {
            if (ended) {
                return;
            }
            if (discard || checksum != null) {
                // Refused, or cut off before its checksum could be checked: thrown away.
                ended = true;
                drop();
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
            release();
            tus.release(upload.id());
        }
    }
}
