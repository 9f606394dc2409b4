package org.transfergateway.storage.azure;

import com.azure.core.util.BinaryData;
import com.azure.storage.blob.models.BlobRange;
import com.azure.storage.blob.models.BlobRequestConditions;
import com.azure.storage.blob.models.BlockBlobItem;
import com.azure.storage.blob.options.BlockBlobStageBlockFromUrlOptions;
import com.azure.storage.blob.options.BlockBlobCommitBlockListOptions;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.KeptCopies;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.JournaledUpload;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.UploadJournal;

/**
 * An upload into a block blob from buffers of the shared memory budget: a body that ends
 * within its first block goes as one Put Blob on commit; a longer one is staged block by
 * block ({@code storage.part-concurrency} in flight per upload), with block sizes that
 * grow ({@link BlockPlan#blockSize}), and made visible by one Put Block List at commit.
 * Staged blocks are invisible until then. Whatever fails, the staged blocks are discarded
 * ({@link AzureStorage#discardUncommitted}); the upload is reported to the
 * {@link UploadJournal} before its first block is sent, so that a crash is cleaned up too.
 *
 * <p>Block ids are this upload's random tag and the block number, of one fixed length,
 * as Azure requires of every block of a blob.
 *
 * <p>An upload that continues a stored blob ({@link Kept}) starts its block list with the
 * blob's committed blocks it keeps whole, stages what else it keeps as blocks that Azure
 * copies from the blob (Put Block From URL, started at the first write or the commit,
 * once the journal is set), and commits only if the blob still has the ETag it had when
 * the upload began.
 *
 * <p>The writer's methods are synchronized, so an {@link #abort()} from another thread
 * waits for a write blocked on the budget; an abort waits for the blocks in flight, so
 * that none is staged after the discard.
 */
final class BlockPut implements JournaledUpload {
    private static final Logger log = LoggerFactory.getLogger(AzureStorage.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final UploadJournal NO_JOURNAL = new UploadJournal() {
        @Override
        public void opened(String key, String uploadId) {
        }

        @Override
        public void closed(String key, String uploadId) {
        }
    };

    private enum State { OPEN, COMMITTED, ABORTED }

    /** The length of every block id this gateway gives. */
    static final int ID_LENGTH = blockId("0".repeat(16), 1).length();
    /** The largest block Azure copies from the blob (Put Block From URL takes up to 4,000 MiB). */
    static final long COPY_BLOCK_SIZE = 256 * BlockPlan.MIB;

    /**
     * The first {@code size} bytes of the blob being continued, which had the ETag
     * {@code etag} (as Azure quotes it): its committed blocks {@code blockIds}, which hold
     * the first {@code whole} bytes, and the rest to be copied from {@code sourceUrl}.
     */
    record Kept(String etag, long size, List<String> blockIds, long whole, String sourceUrl) {
    }

    private final AzureContainer az;
    private final AzureStorage storage;
    private final String key;
    private final String fullName;
    /** The size announced in advance, or -1: a small one gets a first buffer of just that size. */
    private final long announced;
    private final String tag;
    private volatile UploadJournal journal = NO_JOURNAL;
    private final Semaphore inFlight;
    private final List<String> blockIds = new ArrayList<>();
    private final AtomicReference<GatewayException> blockFailure = new AtomicReference<>();
    private volatile State state = State.OPEN;
    /** The modification time to commit the blob with ({@link #commitWithModified}), or null. */
    private java.time.Instant modified;
    private ByteBuffer buffer;
    private long written;
    private boolean staged;
    /** The kept bytes of a continued blob, or null; {@code copying} once their copies are started. */
    private final Kept kept;
    private boolean copying;
    /** The copies of the kept bytes, once started. */
    private KeptCopies copies;

    BlockPut(AzureContainer az, AzureStorage storage, String key, long announced) {
        this(az, storage, key, announced, null);
    }

    /** An upload that starts with the bytes {@code kept} of the blob stored at {@code key}. */
    BlockPut(AzureContainer az, AzureStorage storage, String key, Kept kept) {
        this(az, storage, key, -1, kept);
    }

    private BlockPut(AzureContainer az, AzureStorage storage, String key, long announced, Kept kept) {
        this.kept = kept;
        if (kept != null) {
            blockIds.addAll(kept.blockIds());
            written = kept.size();
        }
        this.az = az;
        this.storage = storage;
        this.key = key;
        this.fullName = az.full(key);
        this.announced = announced;
        byte[] random = new byte[8];
        RANDOM.nextBytes(random);
        this.tag = HexFormat.of().formatHex(random);
        storage.uploadOpened(fullName);
        this.inFlight = new Semaphore(az.blockConcurrency);
    }

    @Override
    public void journalTo(UploadJournal journal) {
        this.journal = journal;
    }

    @Override
    public synchronized boolean takesWithoutWaiting(int bytes) {
        return state == State.OPEN && blockFailure.get() == null && buffer != null && buffer.remaining() >= bytes;
    }

    @Override
    public synchronized void write(ByteBuffer src) throws IOException {
        ensureOpen();
        GatewayException failed = blockFailure.get();
        if (failed != null) {
            throw failed;
        }
        if (kept != null && !copying) {
            copyKept(); // Azure copies the kept bytes while the new ones arrive
        }
        while (src.hasRemaining()) {
            if (buffer != null && !buffer.hasRemaining()) {
                // More is coming, so the full buffer is not the whole body: stage it as a block.
                stageBlock();
            }
            if (buffer == null) {
                buffer = acquire(nextBufferSize());
            }
            int n = Math.min(buffer.remaining(), src.remaining());
            buffer.put(buffer.position(), src, src.position(), n);
            buffer.position(buffer.position() + n);
            src.position(src.position() + n);
            written += n;
        }
    }

    private int nextBufferSize() {
        long size = BlockPlan.blockSize(blockIds.size() + 1, az.firstBlockSize, az.blockCeiling);
        if (blockIds.isEmpty() && announced > 0 && announced < size) {
            size = announced; // the whole body fits: one Put Blob, from no more memory than it needs
        }
        return (int) size;
    }

    private ByteBuffer acquire(int size) throws IOException {
        try {
            return az.budget.acquire(size);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            abort();
            throw new InterruptedIOException("interrupted while waiting for memory to upload " + key);
        }
    }

    private void ensureOpen() throws IOException {
        if (state != State.OPEN) {
            throw new IOException("the upload of " + key + " is already " + (state == State.COMMITTED ? "committed" : "aborted"));
        }
    }

    private void failIfABlockFailed() throws GatewayException {
        GatewayException failed = blockFailure.get();
        if (failed != null) {
            abort();
            throw failed;
        }
    }

    /** Records the upload in the journal before its first block. */
    private void ensureJournaled() throws IOException {
        if (!staged) {
            try {
                journal.opened(fullName, tag);
            } catch (IOException | RuntimeException e) {
                abort();
                throw e;
            }
            staged = true;
        }
    }

    private void acquirePermit() throws IOException {
        try {
            inFlight.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            abort();
            throw new InterruptedIOException("interrupted while uploading " + key);
        }
    }

    /** A block that Azure copies from the blob. */
    private record CopyBlock(int number, String id, BlobRange range) {
    }

    /**
     * Sets going the blocks that Azure copies from the blob (the kept bytes after its kept
     * blocks), their ids taken now, before any block of new bytes.
     */
    private void copyKept() throws IOException {
        copying = true;
        List<CopyBlock> plan = new ArrayList<>();
        for (long first = kept.whole(); first < kept.size(); first += COPY_BLOCK_SIZE) {
            String id = blockId(tag, blockIds.size() + 1);
            blockIds.add(id);
            plan.add(new CopyBlock(blockIds.size(), id, new BlobRange(first, Math.min(COPY_BLOCK_SIZE, kept.size() - first))));
        }
        if (plan.isEmpty()) {
            return;
        }
        ensureJournaled();
        try {
            copies = KeptCopies.start(az.executor, az.blockConcurrency, plan,
                    () -> state == State.ABORTED || blockFailure.get() != null, b -> stageCopy(b.number(), b.id(), b.range()),
                    (b, e) -> blockFailure.compareAndSet(null, ErrorCode.INTERNAL.failure(
                            az.name + ": copying block " + b.number() + " of " + key + " failed: " + e, e)));
        } catch (RuntimeException e) {
            abort();
            throw ErrorCode.INTERNAL.failure(az.name + ": copying the kept bytes of " + key + " failed: " + e, e);
        }
    }

    /** Waits until no copy of the kept bytes is running. */
    private void awaitCopies() {
        if (copies != null) {
            copies.await();
        }
    }

    /** Runs on the executor: Azure copies a range of the stored blob as a block. */
    private void stageCopy(int number, String id, BlobRange range) {
        try {
            if (state == State.ABORTED || blockFailure.get() != null) {
                return;
            }
            az.blob(fullName).stageBlockFromUrlWithResponse(new BlockBlobStageBlockFromUrlOptions(id, kept.sourceUrl())
                    .setSourceRange(range).setSourceRequestConditions(new BlobRequestConditions().setIfMatch(kept.etag())),
                    null, null);
        } catch (RuntimeException e) {
            blockFailure.compareAndSet(null, AzureErrors.isStatus(e, 412) ? changed()
                    : az.failure("copying block " + number + " of " + key + " from the stored blob", e));
        }
    }

    private static GatewayException changed() {
        return ErrorCode.CONFLICT.exception("the file to continue changed since the upload began");
    }

    private void stageBlock() throws IOException {
        ensureJournaled();
        acquirePermit();
        String id = blockId(tag, blockIds.size() + 1);
        blockIds.add(id);
        ByteBuffer block = buffer;
        buffer = null;
        block.flip();
        int number = blockIds.size();
        az.executor.execute(() -> stage(number, id, block));
        failIfABlockFailed();
    }

    /** A block id: base64 of the tag and the number, the same length for every block. */
    static String blockId(String tag, int number) {
        return Base64.getEncoder().encodeToString(String.format("%s-%06d", tag, number).getBytes(StandardCharsets.US_ASCII));
    }

    /** Runs on the executor; always gives the buffer and the permit back. */
    private void stage(int number, String id, ByteBuffer block) {
        try {
            if (state == State.ABORTED || blockFailure.get() != null) {
                return;
            }
            az.blob(fullName).stageBlock(id, BinaryData.fromByteBuffer(block.asReadOnlyBuffer()));
        } catch (RuntimeException e) {
            blockFailure.compareAndSet(null, az.failure("staging block " + number + " of " + key, e));
        } finally {
            az.budget.release(block);
            inFlight.release();
        }
    }

    private void awaitBlocks() {
        inFlight.acquireUninterruptibly(az.blockConcurrency);
        inFlight.release(az.blockConcurrency);
    }

    @Override
    public long written() {
        return written;
    }

    /** The blob gets its metadata at the commit (Put Block List or the one Put Blob): always in time. */
    @Override
    public synchronized boolean commitWithModified(java.time.Instant time) {
        if (state != State.OPEN) {
            return false;
        }
        modified = time;
        return true;
    }

    @Override
    public synchronized ObjectInfo commit() throws IOException {
        ensureOpen();
        failIfABlockFailed();
        BlockBlobItem item;
        try {
            if (!staged && kept == null) {
                item = putWhole();
            } else {
                if (kept != null && !copying) {
                    copyKept();
                }
                if (buffer != null && buffer.position() > 0) {
                    stageBlock();
                }
                awaitBlocks();
                awaitCopies();
                failIfABlockFailed();
                BlockBlobCommitBlockListOptions list = new BlockBlobCommitBlockListOptions(blockIds)
                        .setMetadata(AzureContainer.metadata(modified));
                if (kept != null) {
                    // Only onto the version whose blocks and bytes were kept.
                    list.setRequestConditions(new BlobRequestConditions().setIfMatch(kept.etag()));
                }
                item = az.blob(fullName).commitBlockListWithResponse(list, null, null).getValue();
                if (staged) {
                    journal.closed(fullName, tag);
                }
            }
        } catch (RuntimeException e) {
            abort();
            if (kept != null && AzureErrors.isStatus(e, 412)) {
                throw changed();
            }
            throw az.failure("completing the upload of " + key, e);
        } catch (IOException e) {
            abort();
            throw e;
        }
        state = State.COMMITTED;
        storage.uploadEnded(fullName);
        log.debug("{}: stored {} ({} bytes, {} blocks)", az.name, key, written, blockIds.size());
        return storage.storedInfo(key, written, item != null ? item.getETag() : null);
    }

    /** The whole body in one Put Blob: it ended within the first block. */
    private BlockBlobItem putWhole() {
        ByteBuffer whole = buffer;
        buffer = null;
        try {
            BinaryData body = whole == null ? BinaryData.fromBytes(new byte[0]) : BinaryData.fromByteBuffer(whole.flip().asReadOnlyBuffer());
            return az.blob(fullName).uploadWithResponse(new com.azure.storage.blob.options.BlockBlobSimpleUploadOptions(body)
                    .setMetadata(AzureContainer.metadata(modified)), null, com.azure.core.util.Context.NONE).getValue();
        } finally {
            if (whole != null) {
                az.budget.release(whole);
            }
        }
    }

    @Override
    public synchronized void abort() {
        if (state != State.OPEN) {
            return;
        }
        state = State.ABORTED;
        if (buffer != null) {
            az.budget.release(buffer);
            buffer = null;
        }
        // Blocks still running would otherwise be staged after the discard.
        awaitBlocks();
        awaitCopies();
        storage.uploadEnded(fullName);
        if (staged) {
            UploadJournal j = journal;
            storage.discardQuietly(fullName, () -> j.closed(fullName, tag));
        }
    }
}
