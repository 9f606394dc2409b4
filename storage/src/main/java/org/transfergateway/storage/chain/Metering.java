package org.transfergateway.storage.chain;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.transfergateway.storage.DigestAlgorithm;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.FileBacked;
import org.transfergateway.storage.JournaledUpload;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.StagedUpload;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.meter.CommitLocks;
import org.transfergateway.storage.meter.DigestChange;
import org.transfergateway.storage.meter.Direction;
import org.transfergateway.storage.meter.ObjectDigest;
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
        return counted(key, next.create(key), -1, true);
    }

    @Override
    public Upload create(String key, long size) throws IOException {
        return counted(key, next.create(key, size), size, true);
    }

    /** Its SHA-256 is not known: the kept bytes do not pass here (see {@link Counted}). */
    @Override
    public Upload createContinuing(String key, long keep) throws IOException {
        return counted(key, next.createContinuing(key, keep), -1, keep <= 0);
    }

    /**
     * A staged upload's commit: one transfer of all its bytes, which arrived in earlier
     * requests (a tus upload), with the SHA-256 computed as they did; staging itself
     * passes this link uncounted ({@link ForwardingStorage#stage}).
     */
    @Override
    public Upload createStaged(String key, StagedUpload staged, String sha256) throws IOException {
        long size = staged.size();
        Counted c = counted(key, next.createStaged(key, staged, sha256), size, false);
        c.arrivedBefore(size, sha256);
        return c;
    }

    /**
     * @param size  the bytes announced for the upload, or -1
     * @param whole true when every byte of the object passes through {@link Counted#write}
     */
    private Counted counted(String key, Upload upload, long size, boolean whole) throws IOException {
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
        return new Counted(key, upload, transfer, whole);
    }

    /**
     * SHA-256 as the ledger recorded it at the commit, when the object still has the size
     * it had then; every other digest, and one not recorded, from the backend (read below
     * this link, so not counted as a download).
     */
    @Override
    public byte[] digest(String key, DigestAlgorithm algorithm) throws IOException {
        if (algorithm == DigestAlgorithm.SHA_256) {
            ObjectDigest recorded = recordedDigest(key);
            if (recorded != null) {
                ObjectInfo info = next.stat(key);
                if (info == null || info.folder()) {
                    return null;
                }
                if (info.size() == recorded.size()) {
                    return HexFormat.of().parseHex(recorded.sha256());
                }
            }
        }
        return next.digest(key, algorithm);
    }

    @Override
    public ObjectDigest recordedDigest(String key) throws IOException {
        return meter.digests().digest(name(), key);
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
            meter.changed(new StoredChange(name(), user, -old.size(), -1, old.copies(), List.of())
                    .with(new DigestChange.Removed(key)));
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
            // Always recorded: the digests kept move with the rename.
            meter.changed(new StoredChange(name(), user, replacedFile ? -replaced.size() : 0,
                    replacedFile ? -1 : 0, removed, added).with(new DigestChange.Moved(from, to, source.folder())));
        }
    }

    /**
     * An upload being counted. Commit makes the file visible and counts the transfer as
     * completed; abort or close without commit counts it as failed. Either happens once.
     *
     * <p>The SHA-256 of an object written whole is computed here as its bytes pass, once
     * whatever the backend, and recorded with the commit's stored change. Digests that the
     * client announced ({@link #expect(DigestAlgorithm, byte[])}) are checked before the
     * commit: a mismatch stores nothing and fails the transfer.
     */
    public final class Counted extends ForwardingUpload {
        private final String key;
        private final Transfer transfer;
        /** Null for an upload that keeps bytes of the stored object, which never pass here. */
        private final DigestAlgorithm.Hasher sha256;
        private final Map<DigestAlgorithm, DigestAlgorithm.Hasher> hashers = new EnumMap<>(DigestAlgorithm.class);
        private final Map<DigestAlgorithm, byte[]> expected = new EnumMap<>(DigestAlgorithm.class);
        /** Bytes that reached the digests. */
        private long hashed;
        /** The SHA-256 of a staged upload's bytes, computed as they arrived before; else null. */
        private String stagedSha256;
        private boolean replaced;

        private Counted(String key, Upload upload, Transfer transfer, boolean whole) {
            super(upload);
            this.key = key;
            this.transfer = transfer;
            this.sha256 = whole ? DigestAlgorithm.SHA_256.start() : null;
            if (sha256 != null) {
                hashers.put(DigestAlgorithm.SHA_256, sha256);
            }
        }

        /** The {@code bytes} of a staged upload, with their SHA-256, count as received here. */
        private void arrivedBefore(long bytes, String sha256) {
            transfer.add(bytes);
            hashed = bytes;
            stagedSha256 = sha256;
        }

        /**
         * Makes the commit check that the whole body has the digest {@code value} (HTTP
         * Content-MD5, Repr-Digest); before the first write. BAD_REQUEST for an upload
         * that keeps stored bytes, whose whole body does not pass here.
         */
        public void expect(DigestAlgorithm algorithm, byte[] value) throws IOException {
            if (sha256 == null) {
                throw ErrorCode.BAD_REQUEST.exception("a digest cannot be checked on an upload that continues a file");
            }
            if (hashed > 0) {
                throw new IllegalStateException("digests are expected before the first byte");
            }
            hashers.computeIfAbsent(algorithm, DigestAlgorithm::start);
            expected.put(algorithm, value.clone());
        }

        @Override
        public void write(ByteBuffer src) throws IOException {
            int n = src.remaining();
            if (!hashers.isEmpty()) {
                // Before the write consumes them; a write that fails fails the upload anyway.
                for (DigestAlgorithm.Hasher h : hashers.values()) {
                    h.update(src.duplicate());
                }
                hashed += n;
            }
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

        /** The digests of what was written, checked against those expected; null hex when not whole. */
        private String checkDigests() throws IOException {
            String hex = null;
            for (var e : hashers.entrySet()) {
                byte[] actual = e.getValue().finish();
                byte[] want = expected.get(e.getKey());
                if (want != null && !MessageDigest.isEqual(want, actual)) {
                    throw ErrorCode.DIGEST_MISMATCH.exception("the body's " + e.getKey().label() + " is "
                            + Base64.getEncoder().encodeToString(actual) + ", not "
                            + Base64.getEncoder().encodeToString(want) + " as the request said; nothing was stored");
                }
                if (e.getValue() == sha256) {
                    hex = DigestAlgorithm.hex(actual);
                }
            }
            return hex;
        }

        @Override
        public ObjectInfo commit() throws IOException {
            ObjectInfo info;
            StoredChange change;
            CommitLocks.Held turn = null;
            try {
                String hex = stagedSha256 != null ? stagedSha256 : checkDigests();
                turn = meter.commitLocks().lock(name(), key);
                ObjectInfo old = Metering.this.next.stat(key);
                replaced = old != null && !old.folder();
                info = next.commit();
                List<Placement> removed = old == null ? List.of() : old.copies();
                change = replaced
                        ? new StoredChange(name(), user, info.size() - old.size(), 0, removed, info.copies(), info.pending())
                        : new StoredChange(name(), user, info.size(), 1, removed, info.copies(), info.pending());
                // A size other than the bytes hashed (never expected) records no digest rather than a wrong one.
                change = change.with(new DigestChange.Stored(key, info.size(), info.size() == hashed ? hex : null));
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
