package org.transfergateway.storage.azure;

import com.azure.core.exception.HttpResponseException;
import com.azure.core.util.BinaryData;
import com.azure.core.util.Context;
import com.azure.storage.blob.models.BlobItem;
import com.azure.storage.blob.models.BlobListDetails;
import com.azure.storage.blob.models.BlobProperties;
import com.azure.storage.blob.models.BlobType;
import com.azure.storage.blob.models.Block;
import com.azure.storage.blob.models.BlockListType;
import com.azure.storage.blob.sas.BlobSasPermission;
import com.azure.storage.blob.sas.BlobServiceSasSignatureValues;
import com.azure.storage.blob.models.BlobRange;
import com.azure.storage.blob.models.BlobRequestConditions;
import com.azure.storage.blob.models.ListBlobsOptions;
import com.azure.storage.blob.options.BlobInputStreamOptions;
import com.azure.storage.blob.options.BlockBlobCommitBlockListOptions;
import com.azure.storage.blob.options.BlockBlobSimpleUploadOptions;
import com.azure.storage.blob.specialized.BlockBlobClient;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.AzureBackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.AbortsUploads;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ModTimes;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.OneRequestUpload;
import org.transfergateway.storage.SizedUpload;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.s3.MemoryBudget;

/**
 * A container of Azure Blob Storage, on the Azure SDK for Java over the JDK's HttpClient.
 * Every key gets the configured prefix in front; keys handed out leave it off again.
 * Folders are name prefixes, made to exist when empty by a zero-byte marker blob
 * {@code dir/}, exactly as on S3.
 *
 * <p>Uploads are {@link BlockPut}s: blocks from the shared {@link MemoryBudget}, one Put
 * Block List at commit, one Put Blob when the body fits in the first block. An upload of
 * announced size up to {@link #SINGLE_PUT_MAX} is a {@link OneRequestUpload} instead: one
 * Put Blob whose body streams as it arrives (sent without retries: it streams once), as
 * the SDK itself sends files up to that size. Renames are a
 * server-side Copy Blob, then a delete of the source. Reads stream the range in chunks.
 *
 * <p>Staged blocks are invisible, but Azure keeps them (up to 7 days) until the blob's
 * next commit. A failed upload of a blob that does not exist yet is therefore cleaned up
 * at once by {@link #discardUncommitted}; where a blob exists, its staged blocks cannot be
 * dropped without rewriting it, and are left to expire, invisible. A discard the backend did
 * not answer (it was down) is tried again before each later upload and at close, never
 * while an upload of the same blob is open here.
 */
public final class AzureStorage implements Storage, AbortsUploads {
    private static final Logger log = LoggerFactory.getLogger(AzureStorage.class);
    /** The chunk a read fetches per request. */
    private static final int READ_CHUNK = 4 * 1024 * 1024;
    /** The largest upload of announced size sent as one Put Blob: the SDK's own default single-upload size. */
    static final long SINGLE_PUT_MAX = 256L * 1024 * 1024;
    /** Streamed Put Blobs at once, each holding a thread; beyond them uploads go in blocks. */
    private static final int MAX_STREAMED_PUTS = 256;
    private final Semaphore streamedPuts = new Semaphore(MAX_STREAMED_PUTS);

    private final AzureContainer az;
    /** Blob names with uploads open here, and how many: a retried discard must not wipe a new upload's blocks. */
    private final ConcurrentHashMap<String, Integer> openUploads = new ConcurrentHashMap<>();
    /** Discards of staged blocks that got no answer, with what to do once they succeed. */
    private final Queue<PendingDiscard> pendingDiscards = new ConcurrentLinkedQueue<>();

    private record PendingDiscard(String fullName, Runnable discarded) {
    }

    private AzureStorage(AzureContainer az) {
        this.az = az;
    }

    /**
     * Connects to the container of {@code cfg} and checks that it answers.
     *
     * @param budget the memory budget shared by all backends that buffer parts
     * @throws GatewayException {@link ErrorCode#BACKEND_UNAVAILABLE} with one line naming
     *                          the backend, container and endpoint
     */
    public static AzureStorage open(AzureBackendConfig cfg, StorageConfig shared, MemoryBudget budget) throws GatewayException {
        return new AzureStorage(AzureContainer.connect(cfg, shared, budget));
    }

    @Override
    public String name() {
        return az.name;
    }

    // ---- reading ----

    @Override
    public ObjectInfo stat(String key) throws IOException {
        if (key.isEmpty()) {
            return ObjectInfo.folder("", Instant.EPOCH);
        }
        ObjectInfo file = az.headFile(key);
        if (file != null) {
            return file;
        }
        return isFolder(key) ? ObjectInfo.folder(key, Instant.EPOCH) : null;
    }

    /** True when a marker or any blob lies under {@code dirKey/} (Azure lists the marker under its own prefix). */
    boolean isFolder(String dirKey) throws GatewayException {
        if (dirKey.isEmpty()) {
            return true;
        }
        try {
            return az.client.listBlobs(new ListBlobsOptions().setPrefix(az.under(dirKey)).setMaxResultsPerPage(1), null)
                    .iterableByPage().iterator().next().getValue().size() > 0;
        } catch (RuntimeException e) {
            throw az.failure("listing " + dirKey, e);
        }
    }

    @Override
    public InputStream read(String key, long offset, long length) throws IOException {
        BlobProperties p;
        try {
            p = az.blob(az.full(key)).getProperties();
        } catch (RuntimeException e) {
            if (AzureErrors.isStatus(e, 404)) {
                return null;
            }
            throw az.failure("reading " + key, e);
        }
        long size = p.getBlobSize();
        if (length == 0 || offset >= size) {
            return InputStream.nullInputStream();
        }
        long count = length < 0 ? size - offset : Math.min(length, size - offset);
        try {
            // Tied to this version by its ETag: an overwrite meanwhile fails the read instead of mixing two.
            return az.blob(az.full(key)).openInputStream(new BlobInputStreamOptions()
                    .setRange(new BlobRange(offset, count)).setBlockSize(READ_CHUNK)
                    .setRequestConditions(new BlobRequestConditions().setIfMatch(p.getETag())));
        } catch (RuntimeException e) {
            if (AzureErrors.isStatus(e, 404)) {
                return null;
            }
            throw az.failure("reading " + key, e);
        }
    }

    @Override
    public List<ObjectInfo> list(String dirKey) throws IOException {
        String dir = az.under(dirKey);
        Map<String, ObjectInfo> entries = new TreeMap<>();
        try {
            // With their metadata: the kept modification times come in the same listing.
            ListBlobsOptions options = new ListBlobsOptions().setPrefix(dir)
                    .setDetails(new BlobListDetails().setRetrieveMetadata(true));
            for (BlobItem b : az.client.listBlobsByHierarchy("/", options, null)) {
                if (Boolean.TRUE.equals(b.isPrefix())) {
                    entries.put(b.getName(), folder(b.getName()));
                } else if (!b.getName().endsWith("/")) {
                    entries.put(b.getName(), info(b));
                }
                // A marker "dir/" lists as a blob under its own prefix: the folder itself, left out.
            }
        } catch (RuntimeException e) {
            throw az.failure("listing " + (dirKey.isEmpty() ? "the root folder" : dirKey), e);
        }
        List<ObjectInfo> out = new ArrayList<>(entries.values());
        out.sort(Comparator.comparing(ObjectInfo::name));
        return out;
    }

    @Override
    public void walk(String dirKey, Consumer<ObjectInfo> sink) throws IOException {
        try {
            for (BlobItem b : az.client.listBlobs(new ListBlobsOptions().setPrefix(az.under(dirKey)), null)) {
                if (!b.getName().endsWith("/")) {
                    sink.accept(info(b));
                }
            }
        } catch (RuntimeException e) {
            throw az.failure("listing everything under " + (dirKey.isEmpty() ? "the root folder" : dirKey), e);
        }
    }

    /** Every blob under {@code dir} (a full prefix ending in "/"), markers included. */
    private List<BlobItem> everythingUnder(String dir, String what) throws GatewayException {
        List<BlobItem> all = new ArrayList<>();
        try {
            az.client.listBlobs(new ListBlobsOptions().setPrefix(dir), null).forEach(all::add);
        } catch (RuntimeException e) {
            throw az.failure("listing " + what, e);
        }
        return all;
    }

    private ObjectInfo folder(String fullPrefix) {
        String key = az.strip(fullPrefix);
        return ObjectInfo.folder(key.substring(0, key.length() - 1), Instant.EPOCH);
    }

    private ObjectInfo info(BlobItem b) {
        var p = b.getProperties();
        return ObjectInfo.file(az.strip(b.getName()), p.getContentLength() != null ? p.getContentLength() : 0L,
                AzureContainer.modified(b.getMetadata(), p.getLastModified()), AzureContainer.unquote(p.getETag()));
    }

    // ---- modification times ----

    @Override
    public boolean keepsModified() {
        return true;
    }

    /**
     * Keeps {@code time} as the blob metadata {@code mtime} ({@link ModTimes}): one Set Blob
     * Metadata, the other metadata kept, on condition that the ETag is still the one just
     * read, so that an upload that replaced the blob meanwhile is not undone (CONFLICT
     * then). The content is not touched: no transfer.
     */
    @Override
    public void setModified(String key, Instant time) throws IOException {
        String what = "setting the modification time of " + key;
        var blob = az.blob(az.full(key));
        BlobProperties p;
        try {
            p = blob.getProperties();
        } catch (RuntimeException e) {
            if (AzureErrors.isStatus(e, 404)) {
                throw ErrorCode.NOT_FOUND.exception("no such file");
            }
            throw az.failure(what, e);
        }
        Map<String, String> metadata = new java.util.HashMap<>(p.getMetadata() == null ? Map.of() : p.getMetadata());
        metadata.put(ModTimes.AZURE_KEY, ModTimes.formatRfc3339(time));
        try {
            blob.setMetadataWithResponse(metadata, new BlobRequestConditions().setIfMatch(p.getETag()), null, Context.NONE);
        } catch (RuntimeException e) {
            if (AzureErrors.isStatus(e, 412)) {
                throw ErrorCode.CONFLICT.exception("the file changed while its modification time was set");
            }
            if (AzureErrors.isStatus(e, 404)) {
                throw ErrorCode.NOT_FOUND.exception("no such file");
            }
            throw az.failure(what, e);
        }
    }

    // ---- changing ----

    @Override
    public boolean delete(String key) throws IOException {
        if (az.headFile(key) == null) {
            if (isFolder(key)) {
                throw ErrorCode.CONFLICT.exception("that is a folder");
            }
            return false;
        }
        az.deleteFull(az.full(key), key);
        return true;
    }

    /** Renames a file or a whole folder: copies first, deletes after, so that a failed copy leaves the source whole. */
    @Override
    public void move(String from, String to) throws IOException {
        if (from.equals(to)) {
            if (stat(from) == null) {
                throw ErrorCode.NOT_FOUND.exception("no such file or folder");
            }
            return;
        }
        if (to.startsWith(from + "/") || from.isEmpty()) {
            throw ErrorCode.CONFLICT.exception("a folder cannot move into itself");
        }
        if (az.headFile(from) != null) {
            if (isFolder(to)) {
                throw ErrorCode.CONFLICT.exception("a folder exists at the target");
            }
            copy(az.full(from), az.full(to));
            az.deleteFull(az.full(from), from);
            return;
        }
        String fromDir = az.under(from);
        List<BlobItem> blobs = everythingUnder(fromDir, from);
        if (blobs.isEmpty()) {
            throw ErrorCode.NOT_FOUND.exception("no such file or folder");
        }
        if (az.headFile(to) != null) {
            throw ErrorCode.CONFLICT.exception("a file exists at the target");
        }
        String toDir = az.under(to);
        for (BlobItem b : blobs) {
            copy(b.getName(), toDir + b.getName().substring(fromDir.length()));
        }
        for (BlobItem b : blobs) {
            az.deleteFull(b.getName(), az.strip(b.getName()));
        }
    }

    /** A server-side Copy Blob, waited for: inside one account it completes without the bytes leaving the service. */
    private void copy(String fromFull, String toFull) throws GatewayException {
        String what = "copying " + az.strip(fromFull) + " to " + az.strip(toFull);
        try {
            var poller = az.client.getBlobClient(toFull).beginCopy(az.sourceUrl(fromFull), Duration.ofMillis(200));
            var done = poller.waitForCompletion(Duration.ofHours(1));
            var status = done.getValue() != null ? done.getValue().getCopyStatus() : null;
            if (status != null && !"success".equalsIgnoreCase(status.toString())) {
                throw ErrorCode.BACKEND_FAILED.failure(az.name + ": " + what + " ended as " + status);
            }
        } catch (RuntimeException e) {
            throw az.failure(what, e);
        }
    }

    @Override
    public void makeFolder(String dirKey) throws IOException {
        if (dirKey.isEmpty()) {
            return;
        }
        if (az.headFile(dirKey) != null) {
            throw ErrorCode.CONFLICT.exception("a file exists at that path");
        }
        try {
            az.blob(az.under(dirKey)).upload(BinaryData.fromBytes(new byte[0]), true);
        } catch (RuntimeException e) {
            throw az.failure("making the folder " + dirKey, e);
        }
    }

    @Override
    public boolean removeFolder(String dirKey) throws IOException {
        String dir = az.under(dirKey);
        List<BlobItem> found;
        try {
            found = new ArrayList<>(az.client.listBlobs(new ListBlobsOptions().setPrefix(dir).setMaxResultsPerPage(2), null)
                    .iterableByPage().iterator().next().getValue());
        } catch (RuntimeException e) {
            throw az.failure("listing " + dirKey, e);
        }
        if (found.stream().anyMatch(b -> !b.getName().equals(dir))) {
            throw ErrorCode.NOT_EMPTY.exception("the folder is not empty");
        }
        if (found.isEmpty()) {
            if (az.headFile(dirKey) != null) {
                throw ErrorCode.CONFLICT.exception("that is a file, not a folder");
            }
            return false;
        }
        az.deleteFull(dir, "the folder " + dirKey);
        return true;
    }

    // ---- uploads ----

    @Override
    public Upload create(String key) throws IOException {
        beforeUpload(key);
        return new BlockPut(az, this, key, -1);
    }

    /**
     * With a known size up to {@link #SINGLE_PUT_MAX}, one Put Blob streamed from the
     * writer (a body within the first block, from one buffer of its size); larger ones in
     * blocks, held to the size all the same.
     */
    @Override
    public Upload create(String key, long size) throws IOException {
        beforeUpload(key);
        if (size > az.firstBlockSize && size <= SINGLE_PUT_MAX && streamedPuts.tryAcquire()) {
            String fullName = az.full(key);
            uploadOpened(fullName);
            // Why not blocks: for the same bytes, staged blocks and their commit cost Azurite
            // (the emulator of the tests and the bench) about three times the CPU of one Put Blob.
            return new OneRequestUpload(az.name, key, size, az.executor, (body, n, modified) -> {
                try {
                    return az.blobOnce(fullName).uploadWithResponse(
                            new BlockBlobSimpleUploadOptions(BinaryData.fromStream(body.get(), n))
                                    .setMetadata(AzureContainer.metadata(modified)), null, Context.NONE)
                            .getValue().getETag();
                } catch (RuntimeException e) {
                    throw az.failure("uploading " + key, e);
                }
            }, () -> {
                uploadEnded(fullName);
                streamedPuts.release();
            }, (written, etag) -> storedInfo(key, written, etag));
        }
        return SizedUpload.of(new BlockPut(az, this, key, size), size);
    }

    /**
     * Continues the stored blob without reading it back. The new block list names the
     * blob's committed blocks that lie wholly within the kept bytes (no byte moves at all),
     * then blocks that Azure copies from the blob itself (Put Block From URL) for the rest
     * of the kept bytes: all of them for a blob stored by one Put Blob, the start of a
     * block cut by a REST offset, or everything when the blob's block ids differ in length
     * from this gateway's (one blob's ids must all have one length). Then come the new
     * bytes as blocks, as {@link #create(String)} stages them. The copies name the blob's
     * ETag and so does the commit: a blob replaced meanwhile fails the upload (CONFLICT).
     *
     * <p>The kept bytes are read and written through when Azure cannot copy them: a blob
     * that is not a block blob, or a copy needed where no source URL is signed
     * ({@link #sourceUrlForCopy}).
     */
    @Override
    public Upload createContinuing(String key, long keep) throws IOException {
        if (keep <= 0) {
            return create(key);
        }
        beforeUpload(key);
        String fullName = az.full(key);
        BlockBlobClient blob = az.blob(fullName);
        BlobProperties p;
        List<Block> committed;
        try {
            p = blob.getProperties();
            if (p.getBlobType() != BlobType.BLOCK_BLOB) {
                return Storage.super.createContinuing(key, keep);
            }
            committed = blob.listBlocks(BlockListType.COMMITTED).getCommittedBlocks();
        } catch (RuntimeException e) {
            if (AzureErrors.isStatus(e, 404)) {
                throw ErrorCode.NOT_FOUND.exception("the file to continue is gone");
            }
            throw az.failure("reading the blocks of " + key, e);
        }
        if (p.getBlobSize() < keep) {
            throw ErrorCode.CONFLICT.exception("the file to continue changed: it has " + p.getBlobSize()
                    + " bytes, not the " + keep + " to keep");
        }
        List<String> keptIds = new ArrayList<>();
        long whole = 0; // the bytes of the blocks kept whole
        // All ids of a blob have one length (Azure's rule), so the first tells whether they can join ours.
        if (!committed.isEmpty() && committed.get(0).getName().length() == BlockPut.ID_LENGTH) {
            for (Block b : committed) {
                if (whole + b.getSizeLong() > keep) {
                    break;
                }
                keptIds.add(b.getName());
                whole += b.getSizeLong();
            }
        }
        String source = null;
        if (whole < keep) {
            source = sourceUrlForCopy(fullName);
            if (source == null) {
                return Storage.super.createContinuing(key, keep);
            }
        }
        return new BlockPut(az, this, key, new BlockPut.Kept(p.getETag(), keep, keptIds, whole, source));
    }

    /**
     * A URL Azure can read the blob at from a Put Block From URL, which authorises its source
     * by the URL alone: signed for an hour with the account key; null without one. Not with
     * a configured SAS: Azurite (3.37) answers a Put Block From URL made with an account
     * SAS with a bare 500, so that path could not be tested, and such a backend reads the
     * bytes through instead.
     */
    private String sourceUrlForCopy(String fullName) {
        if (az.config.sasToken() != null || AzureContainer.usesDefaultChain(az.config)) {
            return null;
        }
        try {
            var blob = az.client.getBlobClient(fullName);
            return blob.getBlobUrl() + "?" + blob.generateSas(new BlobServiceSasSignatureValues(
                    OffsetDateTime.now().plusHours(1), new BlobSasPermission().setReadPermission(true)));
        } catch (RuntimeException e) {
            // A connection string without a key: nothing to sign with.
            log.debug("{}: cannot sign a source URL for {}: {}", az.name, az.strip(fullName), e.toString());
            return null;
        }
    }

    private void beforeUpload(String key) throws IOException {
        retryPendingDiscards();
        if (isFolder(key)) {
            // As on local disk and S3: a file and a folder of the same name would confuse every client.
            throw ErrorCode.CONFLICT.exception("a folder exists at that path");
        }
    }

    /**
     * Drops the uncommitted blocks of {@code fullName}, when no blob of that name exists:
     * a commit of an empty block list, allowed only while no blob exists (If-None-Match: *),
     * makes Azure discard them, and the empty blob it leaves is deleted at once, only if
     * unchanged (If-Match). Where a blob exists, its staged blocks stay invisible until
     * they expire or the blob is next committed. True when nothing of the upload is left
     * that could ever become visible.
     */
    void discardUncommitted(String fullName) {
        BlockBlobClient blob = az.blob(fullName);
        String etag;
        try {
            etag = blob.commitBlockListWithResponse(new BlockBlobCommitBlockListOptions(List.of())
                    .setRequestConditions(new BlobRequestConditions().setIfNoneMatch("*")), null, null).getValue().getETag();
        } catch (RuntimeException e) {
            if (AzureErrors.isStatus(e, 409) || AzureErrors.isStatus(e, 412)) {
                return; // a blob exists: its old content stays, the blocks expire unseen
            }
            throw e;
        }
        try {
            blob.deleteWithResponse(null, new BlobRequestConditions().setIfMatch(etag), null, null);
        } catch (RuntimeException e) {
            if (!AzureErrors.isStatus(e, 404) && !AzureErrors.isStatus(e, 412)) {
                throw e;
            }
        }
    }

    /** An upload of {@code fullName} opens: no retried discard of that name runs until it {@link #uploadEnded ends}. */
    void uploadOpened(String fullName) {
        openUploads.merge(fullName, 1, Integer::sum);
    }

    void uploadEnded(String fullName) {
        openUploads.computeIfPresent(fullName, (k, n) -> n == 1 ? null : n - 1);
    }

    /**
     * Discards the staged blocks of an aborted upload and runs {@code discarded} when they
     * are gone. When the backend does not answer, the discard is queued for a later try;
     * when it refuses, the journal keeps the upload for the next start-up.
     */
    void discardQuietly(String fullName, Runnable discarded) {
        if (discardNow(fullName, discarded, false)) {
            pendingDiscards.add(new PendingDiscard(fullName, discarded));
        }
    }

    /** Tries the discard once; true when it should be tried again (no answer). */
    private boolean discardNow(String fullName, Runnable discarded, boolean retry) {
        try {
            discardUncommitted(fullName);
            discarded.run();
            if (retry) {
                log.info("{}: discarded the staged blocks of {} on a later try", az.name, az.strip(fullName));
            }
            return false;
        } catch (RuntimeException e) {
            boolean noAnswer = !(e instanceof HttpResponseException h) || h.getResponse() == null;
            log.warn("{}: could not discard the staged blocks of {}{}: {}", az.name, az.strip(fullName),
                    noAnswer ? ", will try again" : "", AzureErrors.reason(e));
            return noAnswer;
        }
    }

    /** Tries again the discards that got no answer, each only while no upload of its blob is open here. */
    void retryPendingDiscards() {
        for (int n = pendingDiscards.size(); n > 0; n--) {
            PendingDiscard p = pendingDiscards.poll();
            if (p == null) {
                return;
            }
            // Inside compute: an upload of the same name cannot open while the discard runs.
            openUploads.compute(p.fullName(), (name, open) -> {
                if (open != null || discardNow(p.fullName(), p.discarded(), true)) {
                    pendingDiscards.add(p);
                }
                return open;
            });
        }
    }

    /** {@code fullName} is the blob name as the journal recorded it: the prefix included. */
    @Override
    public boolean abortUpload(String fullName, String uploadId) throws IOException {
        try {
            discardUncommitted(fullName);
            return true;
        } catch (RuntimeException e) {
            throw az.failure("discarding the staged blocks of " + fullName, e);
        }
    }

    /** The blob just stored, as Azure now tells it; what is known when it cannot be read back. */
    ObjectInfo storedInfo(String key, long written, String etag) {
        try {
            ObjectInfo info = az.headFile(key);
            if (info != null) {
                return info;
            }
        } catch (GatewayException | RuntimeException e) {
            log.debug("{}: could not read back {}: {}", az.name, key, e.toString());
        }
        return ObjectInfo.file(key, written, Instant.now(), AzureContainer.unquote(etag));
    }

    @Override
    public void close() {
        retryPendingDiscards();
        az.close();
    }
}
