package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.meter.ResumableUpload;

/**
 * The body of one tus PATCH (or of a POST with creation-with-upload): appended to the
 * upload's part file at the recorded offset, synced, then the new offset recorded. The
 * last byte of the upload commits it ({@link Tus#complete}). The caller holds the upload
 * (see {@link Tus}); this releases it when the request ends, however it ends.
 */
final class TusChunk implements UploadTarget {
    private static final Logger log = LoggerFactory.getLogger(TusChunk.class);

    private final Tus tus;
    private final Exchange exchange;
    private final ResumableUpload upload;
    private final TusChecksum checksum;
    private final boolean created;
    private final FileChannel part;
    private long written;
    /** The chunk's bytes are to be thrown away, not kept, when the request ends. */
    private boolean discard;
    private boolean ended;

    TusChunk(Tus tus, Exchange exchange, ResumableUpload upload, TusChecksum checksum, boolean created) throws IOException {
        this.tus = tus;
        this.exchange = exchange;
        this.upload = upload;
        this.checksum = checksum;
        this.created = created;
        this.part = FileChannel.open(tus.part(upload.id()), StandardOpenOption.WRITE);
        try {
            if (part.size() < upload.offset()) {
                throw ErrorCode.INTERNAL.exception("the partial data of upload " + upload.id() + " has " + part.size()
                        + " bytes, fewer than its recorded offset " + upload.offset());
            }
            // Bytes written after the last recorded offset (a crash between the write and
            // the record) are not part of the upload.
            part.truncate(upload.offset());
        } catch (IOException | RuntimeException e) {
            part.close();
            throw e;
        }
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
        while (chunk.hasRemaining()) {
            int n = part.write(chunk, at);
            at += n;
            written += n;
        }
    }

    @Override
    public FullHttpResponse finish() throws IOException {
        if (checksum != null && !checksum.matches()) {
            discard = true;
            throw new TusStatus(460, "Checksum Mismatch", "checksum_mismatch", "the chunk's " + checksum.algorithm()
                    + " does not match Upload-Checksum; it was discarded, the offset stays " + upload.offset());
        }
        ResumableUpload now = keep();
        try {
            if (now.offset() == now.length()) {
                tus.complete(exchange, now, null);
            }
        } finally {
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

    /** Syncs the bytes written and records the new offset; the upload as it is now. */
    private ResumableUpload keep() throws IOException {
        ended = true;
        try (FileChannel ch = part) {
            ch.force(false);
        }
        if (written == 0) {
            return upload;
        }
        if (!Tus.uploads(exchange).advanceUpload(upload.id(), upload.offset(), upload.offset() + written)) {
            throw ErrorCode.NOT_FOUND.exception("the upload " + Tus.PREFIX + "/" + upload.id() + " ended meanwhile");
        }
        return upload.at(upload.offset() + written);
    }

    @Override
    public void abort() {
        try {
            if (ended) {
                return;
            }
            if (discard || checksum != null) {
                // Refused, or cut off before its checksum could be checked: thrown away.
                ended = true;
                try (FileChannel ch = part) {
                    ch.truncate(upload.offset());
                }
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
            tus.release(upload.id());
        }
    }
}
