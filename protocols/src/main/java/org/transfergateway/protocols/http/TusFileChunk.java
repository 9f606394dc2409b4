package org.transfergateway.protocols.http;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.meter.ResumableUpload;

/**
 * A tus chunk of an upload whose backend does not stage uploads: appended to the upload's
 * part file on this node at the recorded offset, synced, then the new offset recorded.
 */
final class TusFileChunk extends TusChunk {
    private final FileChannel part;

    TusFileChunk(Tus tus, Exchange exchange, ResumableUpload upload, TusChecksum checksum, boolean created)
            throws IOException {
        super(tus, exchange, upload, checksum, created);
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
    void take(ByteBuffer chunk, long at) throws IOException {
        while (chunk.hasRemaining()) {
            int n = part.write(chunk, at);
            at += n;
            written += n;
        }
    }

    @Override
    ResumableUpload record() throws IOException {
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
    void complete(ResumableUpload now) throws IOException {
        tus.complete(exchange, now, null);
    }

    @Override
    void drop() throws IOException {
        try (FileChannel ch = part) {
            ch.truncate(upload.offset());
        }
    }
}
