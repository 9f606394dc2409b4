package org.transfergateway.storage.chain;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.FileBacked;
import org.transfergateway.storage.JournaledUpload;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.meter.CommitLocks;
import org.transfergateway.storage.meter.Direction;
import org.transfergateway.storage.meter.Placement;
import org.transfergateway.storage.meter.Protocol;
import org.transfergateway.storage.meter.StoredChange;
import org.transfergateway.storage.meter.Transfer;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * The counting point: every upload and download below the front ends passes here and is
 * a {@link Transfer} of the {@link TransferMeter}, ended exactly once; every commit,
 * delete and rename moves the stored totals, in the same ledger record as its transfer.
 *
 * <p>Commits, deletes and renames of one key are ordered by the meter's
 * {@link CommitLocks}: what a commit replaces, the backend's last word and the ledger's
 * stored change all come from the same turn, so the last commit wins and a file is
 * counted once.
 */
public final class Metering extends ForwardingStorage {
    private final String user;
    private final Protocol protocol;
    private final TransferMeter meter;
    private final UnaryOperator<String> pathOf;

    /** @param pathOf the user's path of a key, as transfers record it */
    public Metering(Storage next, String user, Protocol protocol, TransferMeter meter, UnaryOperator<String> pathOf) {
        super(next);
        this.user = user;
        this.protocol = protocol;
        this.meter = meter;
        this.pathOf = pathOf;
    }

    @Override
    public Upload create(String key) throws IOException {
        return counted(key, next.create(key), -1);
    }

    @Override
    public Upload create(String key, long size) throws IOException {
        return counted(key, next.create(key, size), size);
    }

    @Override
    public Upload createContinuing(String key, long keep) throws IOException {
        return counted(key, next.createContinuing(key, keep), -1);
    }

    /** @param size the bytes announced for the upload, or -1 */
    private Counted counted(String key, Upload upload, long size) throws IOException {
        Transfer transfer;
        try {
            transfer = meter.start(user, protocol, Direction.IN, pathOf.apply(key), name(), size);
        } catch (IOException | RuntimeException e) {
            upload.abort();
            throw e;
        }
        // Before the first byte: kept bytes of a resumed upload may already open a multipart upload.
        if (upload instanceof JournaledUpload j) {
            j.journalTo(new TransferJournal(meter, transfer, name()));
        }
        return new Counted(key, upload, transfer);
    }

    /**
     * Reads counted as a download of {@code length} bytes (which must be exact: the
     * download is complete when all of them were read before close).
     */
    @Override
    public Sent read(String key, long offset, long length) throws IOException {
        Transfer t = meter.start(user, protocol, Direction.OUT, pathOf.apply(key), name(), length);
        try {
            InputStream in = next.read(key, offset, length);
            if (in == null) {
                meter.end(t, false, null);
                return null;
            }
            return new Sent(in, length, t);
        } catch (IOException | RuntimeException e) {
            meter.end(t, false, null);
            throw e;
        }
    }

    /** Deletes a file; CONFLICT for a folder. */
    @Override
    public boolean delete(String key) throws IOException {
        try (CommitLocks.Held turn = meter.commitLocks().lock(name(), key)) {
            ObjectInfo old = next.stat(key);
            if (old == null) {
                return false;
            }
            if (old.folder()) {
                throw ErrorCode.CONFLICT.exception(pathOf.apply(key) + " is a folder");
            }
            if (!next.delete(key)) {
                return false;
            }
            meter.changed(new StoredChange(name(), user, -old.size(), -1, old.copies(), List.of()));
            return true;
        }
    }

    /** Renames; a file replaced at {@code to} leaves the stored totals. CONFLICT when a folder is at {@code to}. */
    @Override
    public void move(String from, String to) throws IOException {
        try (CommitLocks.Held turn = meter.commitLocks().lock(name(), from, to)) {
            ObjectInfo source = next.stat(from);
            if (source == null) {
                throw ErrorCode.NOT_FOUND.exception("no such file or folder: " + pathOf.apply(from));
            }
            ObjectInfo replaced = next.stat(to);
            if (replaced != null && replaced.folder()) {
                throw ErrorCode.CONFLICT.exception("a folder exists at " + pathOf.apply(to));
            }
            List<Placement> removed = new ArrayList<>(source.copies());
            List<Placement> added = new ArrayList<>();
            source.copies().forEach(c -> added.add(c.withKey(to)));
            if (source.folder() && next.placesCopies()) {
                // Every copy under the folder takes its new key with the rename.
                next.walk(from, o -> {
                    removed.addAll(o.copies());
                    o.copies().forEach(c -> added.add(c.withKey(to + c.key().substring(from.length()))));
                });
            }
            next.move(from, to);
            boolean replacedFile = replaced != null && !source.folder();
            if (replacedFile) {
                removed.addAll(replaced.copies());
            }
            if (replacedFile || !removed.isEmpty()) {
                meter.changed(new StoredChange(name(), user, replacedFile ? -replaced.size() : 0,
                        replacedFile ? -1 : 0, removed, added));
            }
        }
    }

    /**
     * An upload being counted. Commit makes the file visible and counts the transfer as
     * completed; abort or close without commit counts it as failed. Either happens once.
     */
    public final class Counted extends ForwardingUpload {
        private final String key;
        private final Transfer transfer;
        private boolean replaced;

        private Counted(String key, Upload upload, Transfer transfer) {
            super(upload);
            this.key = key;
            this.transfer = transfer;
        }

        @Override
        public void write(ByteBuffer src) throws IOException {
            int n = src.remaining();
            try {
                next.write(src);
            } finally {
                transfer.add(n - src.remaining());
            }
        }

        /** Client bytes received so far (kept bytes of a resumed upload are not). */
        @Override
        public long written() {
            return transfer.bytes();
        }

        /** The user's path of the file. */
        public String path() {
            return transfer.path();
        }

        /** See {@link Transfer#expect}. */
        public void expect(long clientBytes) {
            transfer.expect(clientBytes);
        }

        /** True when the commit replaced an existing file. */
        public boolean replaced() {
            return replaced;
        }

        @Override
        public ObjectInfo commit() throws IOException {
            ObjectInfo info;
            StoredChange change;
            CommitLocks.Held turn = null;
            try {
                turn = meter.commitLocks().lock(name(), key);
                ObjectInfo old = Metering.this.next.stat(key);
                replaced = old != null && !old.folder();
                info = next.commit();
                List<Placement> removed = old == null ? List.of() : old.copies();
                change = replaced
                        ? new StoredChange(name(), user, info.size() - old.size(), 0, removed, info.copies(), info.pending())
                        : new StoredChange(name(), user, info.size(), 1, removed, info.copies(), info.pending());
            } catch (IOException | RuntimeException e) {
                if (turn != null) {
                    turn.close();
                }
                next.abort();
                meter.end(transfer, false, null);
                throw e;
            }
            try {
                meter.end(transfer, true, change);
                // Still in this key's turn: a later commit may land where a stale copy lies.
                next.recorded();
            } finally {
                turn.close();
            }
            return info;
        }

        @Override
        public void abort() {
            next.abort();
            meter.end(transfer, false, null);
        }
    }

    /**
     * A download being counted: complete when every expected byte was read before close,
     * failed otherwise. Closing early stops the reading from the backend.
     */
    public final class Sent extends FilterInputStream {
        private final long length;
        private final Transfer transfer;
        private long sent;
        private boolean closed;
        private volatile boolean abandoned;

        private Sent(InputStream in, long length, Transfer transfer) {
            super(in);
            this.length = length;
            this.transfer = transfer;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                sent++;
                transfer.add(1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                sent += n;
                transfer.add(n);
            }
            return n;
        }

        /** The local file region behind this download, for zero-copy sending, or null. */
        public FileBacked file() {
            return in instanceof FileBacked f ? f : null;
        }

        /** Counts bytes that a front end sent without reading them through this stream. */
        public void sentDirectly(long n) {
            sent += n;
            transfer.add(n);
        }

        /** Marks the download as not delivered although every byte may have been read. */
        public void abandon() {
            abandoned = true;
        }

        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            try {
                in.close();
            } finally {
                meter.end(transfer, !abandoned && sent == length, null);
            }
        }
    }
}
