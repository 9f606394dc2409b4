package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.LimitsConfig;
import org.transfergateway.config.TusConfig;
import org.transfergateway.config.UserPolicy;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.StagedUpload;
import org.transfergateway.storage.UserFiles;
import org.transfergateway.storage.meter.Direction;
import org.transfergateway.storage.meter.ResumableUpload;
import org.transfergateway.storage.meter.ResumableUploads;
import org.transfergateway.storage.meter.Transfer;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * Resumable uploads, tus 1.0.0 (SPEC section 9), under {@code /tus/}: core, creation,
 * creation-with-upload, termination, checksum and expiration.
 *
 * <p>An upload's state lives in the ledger ({@link ResumableUploads}). Where the target's
 * backend can stage an upload ({@link StagedUpload}: S3), its bytes go straight to the
 * backend ({@link TusStagedChunk}): nothing is spooled on this node, the ledger records the
 * backend's state and the running SHA-256 with each offset, and any node of a cluster may
 * continue the upload; the last byte commits it through the user's storage chain
 * ({@link UserFiles#commitStaged}: permissions, quota, one transfer counted with that
 * SHA-256). Elsewhere (local disk, Azure, GCS, pools) its bytes wait, until the last one
 * arrives, in a part file of this node under {@code <data-dir>/tus}, outside every user's
 * tree ({@link TusFileChunk}). Each chunk is synced to disk before its offset is recorded, and a
 * part file is cut back to the recorded offset whenever it is opened again, so that what
 * survives a crash agrees with the ledger. The last byte makes the upload one ordinary
 * upload through the user's storage chain (permissions, quota, metering, backend), which
 * commits the object. Either way nothing appears at the target before. A finished upload is kept
 * until it expires, answering with its full offset, so that a client that lost the last
 * answer learns it is done.
 *
 * <p>Counting: an upload that completes is one completed transfer of its length, counted
 * by the chain at that commit. One that is terminated or expires is one failed transfer
 * of the bytes it had received. A chunk refused after its bytes arrived (checksum
 * mismatch, beyond Upload-Length) is discarded and counted as one failed transfer of its
 * bytes. A chunk cut off midway keeps the bytes that arrived (tus asks servers to).
 */
final class Tus {
    private static final Logger log = LoggerFactory.getLogger(Tus.class);
    static final String PREFIX = "/tus";
    static final String VERSION = "1.0.0";
    static final String TUS_RESUMABLE = "Tus-Resumable";
    static final String TUS_VERSION = "Tus-Version";
    static final String OFFSET_TYPE = "application/offset+octet-stream";
    static final String EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration";
    private static final int MAX_METADATA = 4096;
    /** How long a HEAD waits for a request that still writes to the upload on this node. */
    static final Duration HEAD_WAIT = Duration.ofSeconds(5);
    private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter.RFC_1123_DATE_TIME.withZone(ZoneOffset.UTC);

    private final TusConfig config;
    private final LimitsConfig limits;
    private final Path dir;
    private final Clock clock;
    /** Uploads a request is writing or ending now, on this node: one at a time each. */
    private final Set<String> busy = ConcurrentHashMap.newKeySet();

    Tus(TusConfig config, LimitsConfig limits, Path dir, Clock clock) {
        this.config = config;
        this.limits = limits;
        this.dir = dir;
        this.clock = clock;
    }

    static boolean owns(String rawPath) {
        return RouteTable.under(PREFIX).test(rawPath);
    }

    /** {@code /tus/<id>}: one upload. */
    private static boolean isUpload(String rawPath) {
        return rawPath.startsWith(PREFIX + "/") && rawPath.length() > PREFIX.length() + 1
                && rawPath.indexOf('/', PREFIX.length() + 1) < 0;
    }

    RouteTable routes(RouteTable routes) {
        return routes
                .simple(HttpMethod.OPTIONS, RouteTable.under(PREFIX), this::options)
                .upload(HttpMethod.POST, p -> p.equals(PREFIX) || p.equals(PREFIX + "/"), this::create)
                .simple(HttpMethod.HEAD, Tus::isUpload, this::head)
                .upload(HttpMethod.PATCH, Tus::isUpload, this::patch)
                .simple(HttpMethod.DELETE, Tus::isUpload, this::terminate);
    }

    // ---- requests

    private void options(Exchange ex) {
        FullHttpResponse r = ex.services().responses().empty(HttpResponseStatus.NO_CONTENT);
        r.headers().set(TUS_VERSION, VERSION).set("Tus-Extension", EXTENSIONS)
                .set("Tus-Checksum-Algorithm", TusChecksum.ALGORITHMS);
        if (limits.maxUploadBytes() > 0) {
            r.headers().set("Tus-Max-Size", limits.maxUploadBytes());
        }
        ex.send(r);
    }

    /** POST: creation, and with a body creation-with-upload. */
    private UploadTarget create(Exchange ex) throws IOException {
        checkVersion(ex);
        Caller caller = ex.caller();
        HttpHeaders h = ex.request().headers();
        if (h.contains("Upload-Defer-Length")) {
            throw ErrorCode.BAD_REQUEST.exception("Upload-Defer-Length is not supported: send Upload-Length");
        }
        long length = number(h, "Upload-Length");
        if (length < 0) {
            throw ErrorCode.BAD_REQUEST.exception("Upload-Length is required");
        }
        if (limits.maxUploadBytes() > 0 && length > limits.maxUploadBytes()) {
            throw ErrorCode.TOO_LARGE.exception("Upload-Length " + length + " is more than the largest upload allowed ("
                    + limits.maxUploadBytes() + " bytes)");
        }
        String metadata = h.get("Upload-Metadata", "").trim();
        String path = target(metadata);
        UserFiles files = caller.files();
        files.checkPath(path);
        checkRoom(ex.services().accounts().meter(), files, length);
        boolean body = hasBody(ex);
        if (body) {
            checkContentType(ex);
        }
        // Before anything is created: a bad Upload-Checksum must leave no upload behind.
        TusChecksum checksum = body ? TusChecksum.of(h) : null;
        TransferMeter meter = ex.services().accounts().meter();
        Instant now = clock.instant();
        String id = UUID.randomUUID().toString().replace("-", "");
        StagedUpload staged = files.stage(path, null);
        if (staged != null) {
            ResumableUpload u = new ResumableUpload(id, meter.node(), caller.name(), path, length, 0, metadata, now,
                    now.plus(config.expiry()), null, staged.save(), TusStagedChunk.state(TusStagedChunk.digest(null)));
            busy.add(u.id());
            try {
                uploads(ex).createUpload(u);
                log.debug("tus upload {} of {} bytes to {} created by {}, staged on the backend", u.id(), length, path,
                        caller.name());
            } catch (IOException | RuntimeException e) {
                release(u.id());
                abortQuietly(staged, u);
                throw e;
            }
            return new TusStagedChunk(this, ex, u, checksum, true, staged);
        }
        ResumableUpload u = new ResumableUpload(id, meter.node(),
                caller.name(), path, length, 0, metadata, now, now.plus(config.expiry()), null);
        // Held from before its part file exists: the sweeper leaves it alone meanwhile.
        busy.add(u.id());
        TusChunk chunk;
        try {
            Files.createDirectories(dir);
            Files.createFile(part(u.id()));
            uploads(ex).createUpload(u);
            chunk = new TusFileChunk(this, ex, u, checksum, true);
        } catch (IOException | RuntimeException e) {
            release(u.id());
            throw e;
        }
        log.debug("tus upload {} of {} bytes to {} created by {}", u.id(), length, path, caller.name());
        return chunk;
    }

    private void head(Exchange ex) throws IOException {
        checkVersion(ex);
        awaitRelease(ex.rawPath().substring(PREFIX.length() + 1));
        ResumableUpload u = find(ex);
        if (u.offset() == u.length() && !u.isFinished()) {
            // Complete but not yet committed (the commit failed, or a crash came between):
            // commit now, so that a client that resumes by asking the offset gets its file.
            String id = u.id();
            hold(id);
            try {
                u = uploads(ex).upload(id);
                if (u == null) {
                    throw ErrorCode.NOT_FOUND.exception("no such upload: " + ex.rawPath());
                }
                if (!u.isFinished()) {
                    complete(ex, u, null);
                }
            } finally {
                release(id);
            }
        }
        FullHttpResponse r = ex.services().responses().empty(HttpResponseStatus.OK);
        describe(r.headers(), u);
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        r.headers().set("Upload-Length", u.length());
        if (!u.metadata().isEmpty()) {
            r.headers().set("Upload-Metadata", u.metadata());
        }
        ex.send(r);
    }

    private UploadTarget patch(Exchange ex) throws IOException {
        checkVersion(ex);
        checkContentType(ex);
        HttpHeaders h = ex.request().headers();
        long offset = number(h, "Upload-Offset");
        if (offset < 0) {
            throw ErrorCode.BAD_REQUEST.exception("Upload-Offset is required");
        }
        String id = find(ex).id();
        hold(id);
        try {
            // Read again under the hold: another request may have moved it meanwhile.
            ResumableUpload u = uploads(ex).upload(id);
            if (u == null) {
                throw ErrorCode.NOT_FOUND.exception("no such upload: " + ex.rawPath());
            }
            if (offset != u.offset()) {
                throw ErrorCode.CONFLICT.exception("Upload-Offset " + offset + " is not the upload's offset " + u.offset());
            }
            long announced = HttpUtil.isTransferEncodingChunked(ex.request()) ? -1
                    : HttpUtil.getContentLength(ex.request(), -1L);
            if (announced > u.length() - u.offset()) {
                throw ErrorCode.TOO_LARGE.exception("the chunk of " + announced + " bytes goes beyond Upload-Length "
                        + u.length() + " (offset " + u.offset() + ")");
            }
            if (u.isFinished()) {
                release(id);
                return new Finished(ex, u);
            }
            if (u.isStaged()) {
                StagedUpload staged = ex.caller().files().stage(u.path(), u.staged());
                if (staged == null) {
                    throw ErrorCode.INTERNAL.exception("the backend of " + u.path() + " no longer stages uploads");
                }
                return new TusStagedChunk(this, ex, u, TusChecksum.of(h), false, staged);
            }
            return new TusFileChunk(this, ex, u, TusChecksum.of(h), false);
        } catch (IOException | RuntimeException e) {
            release(id);
            throw e;
        }
    }

    /** DELETE: termination; the bytes received count as one failed transfer. */
    private void terminate(Exchange ex) throws IOException {
        checkVersion(ex);
        ResumableUpload u = find(ex);
        hold(u.id());
        try {
            if (u.isFinished()) {
                // Its file is an ordinary file now (delete it under /files): only the upload goes.
                uploads(ex).removeUpload(u.id());
            } else {
                discard(ex.services().accounts().meter(), ex.caller().files(), u);
            }
        } finally {
            release(u.id());
        }
        ex.send(ex.services().responses().empty(HttpResponseStatus.NO_CONTENT));
    }

    // ---- shared with TusChunk

    Path part(String id) {
        return dir.resolve(id + ".part");
    }

    static ResumableUploads uploads(Exchange ex) {
        return ex.services().accounts().meter().resumableUploads();
    }

    void release(String id) {
        busy.remove(id);
        synchronized (busy) {
            busy.notifyAll();
        }
    }

    /**
     * Waits, at most {@link #HEAD_WAIT}, while a request of this node still writes to the
     * upload {@code id}: a client whose connection was cut asks the offset at once, while
     * the server may still be keeping what that request brought (on S3, saving its tail),
     * and would otherwise learn an offset that is about to move, and get 409 for it.
     */
    private void awaitRelease(String id) throws IOException {
        long deadline = System.nanoTime() + HEAD_WAIT.toNanos();
        synchronized (busy) {
            while (busy.contains(id)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return; // answer what is recorded; a PATCH then gets 423 until the writer ends
                }
                try {
                    busy.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted while the upload was busy");
                }
            }
        }
    }

    /** The headers every answer about an upload carries. */
    void describe(HttpHeaders h, ResumableUpload u) {
        h.set("Upload-Offset", u.offset());
        h.set("Upload-Expires", HTTP_DATE.format(u.expires()));
    }

    /**
     * Makes the complete upload the object at its target, through the user's storage chain
     * (counted there as one completed transfer), then marks the upload finished. On failure
     * nothing is stored and the upload stays complete, to be committed again.
     *
     * @param open the staged upload as the request that brought the last byte holds it, or
     *             null to continue it from its recorded state
     */
    void complete(Exchange ex, ResumableUpload u, StagedUpload open) throws IOException {
        if (u.isStaged()) {
            completeStaged(ex, u, open);
            return;
        }
        UserFiles files = ex.caller().files();
        Path part = part(u.id());
        UserFiles.Inbound in = files.uploadOfSize(u.path(), u.length());
        boolean committed = false;
        try (FileChannel ch = FileChannel.open(part, StandardOpenOption.READ)) {
            if (ch.size() < u.length()) {
                throw ErrorCode.INTERNAL.exception("the partial data of upload " + u.id() + " has " + ch.size()
                        + " bytes, not " + u.length());
            }
            ByteBuffer buf = ByteBuffer.allocate(256 * 1024);
            long left = u.length();
            while (left > 0) {
                buf.clear().limit((int) Math.min(buf.capacity(), left));
                int n = ch.read(buf);
                if (n < 0) {
                    throw new IOException("the partial data of upload " + u.id() + " ended early");
                }
                buf.flip();
                left -= n;
                in.write(buf);
            }
            in.commit();
            committed = true;
        } finally {
            if (!committed) {
                in.abort();
            }
        }
        // Kept, finished, until it expires: a client that lost this answer asks the offset.
        uploads(ex).finishUpload(u.id(), clock.instant());
        Files.deleteIfExists(part);
        log.debug("tus upload {} complete: {} bytes at {}", u.id(), u.length(), u.path());
    }

    /** The staged upload committed through the user's chain, with the SHA-256 the ledger kept running. */
    private void completeStaged(Exchange ex, ResumableUpload u, StagedUpload open) throws IOException {
        UserFiles files = ex.caller().files();
        StagedUpload staged = open != null ? open : files.stage(u.path(), u.staged());
        if (staged == null) {
            throw ErrorCode.INTERNAL.exception("the backend of " + u.path() + " no longer stages uploads");
        }
        try {
            UserFiles.Inbound in = files.commitStaged(u.path(), staged, TusStagedChunk.sha256(u.digestState()));
            boolean committed = false;
            try {
                in.commit();
                committed = true;
            } finally {
                if (!committed) {
                    in.abort();
                }
            }
        } finally {
            staged.release();
        }
        uploads(ex).finishUpload(u.id(), clock.instant());
        log.debug("tus upload {} complete: {} bytes at {}, staged", u.id(), u.length(), u.path());
    }

    /** Discards a staged upload on its backend; what cannot be is left to the start-up sweep, and said. */
    private static void abortQuietly(StagedUpload staged, ResumableUpload u) {
        try {
            staged.abort();
        } catch (IOException | RuntimeException e) {
            log.warn("tus upload {}: cannot discard what its backend keeps for {}: {}", u.id(), u.path(), e.toString());
        }
    }

    /**
     * A PATCH at the end of a finished upload (a client that lost the last answer and sent
     * its last chunk's end again): nothing more to take, the same answer.
     */
    private static final class Finished implements UploadTarget {
        private final Exchange ex;
        private final ResumableUpload upload;

        Finished(Exchange ex, ResumableUpload upload) {
            this.ex = ex;
            this.upload = upload;
        }

        @Override
        public void write(ByteBuffer chunk) throws IOException {
            throw ErrorCode.TOO_LARGE.exception("the upload is complete: no byte goes beyond Upload-Length "
                    + upload.length());
        }

        @Override
        public FullHttpResponse finish() {
            FullHttpResponse r = ex.services().responses().empty(HttpResponseStatus.NO_CONTENT);
            r.headers().set("Upload-Offset", upload.offset());
            r.headers().set("Upload-Expires", HTTP_DATE.format(upload.expires()));
            return r;
        }

        @Override
        public void abort() {
        }
    }

    /** Counts {@code bytes} that were received and then thrown away as one failed upload. */
    static void countFailed(TransferMeter meter, String user, String path, String backend, long length, long bytes) {
        try {
            Transfer t = meter.start(user, HttpFrontEnd.PROTOCOL, Direction.IN, path, backend, length);
            t.add(bytes);
            meter.end(t, false, null);
        } catch (IOException e) {
            log.warn("cannot count the failed upload to {} of {}: {}", path, user, e.getMessage());
        }
    }

    // ---- expiry

    /** Removes this node's expired uploads and their partial data, each counted as a failed transfer. */
    void sweep(TransferMeter meter, java.util.function.Function<String, UserFiles> filesOf) {
        try {
            List<ResumableUpload> expired = meter.resumableUploads().expiredUploads(meter.node(), clock.instant(), 100);
            for (ResumableUpload u : expired) {
                if (!busy.add(u.id())) {
                    continue;
                }
                try {
                    if (u.isFinished()) {
                        meter.resumableUploads().removeUpload(u.id());
                        continue;
                    }
                    UserFiles files = filesOf.apply(u.user());
                    discard(meter, files, u);
                    log.info("tus upload {} of {} to {} expired after {} of {} bytes", u.id(), u.user(), u.path(),
                            u.offset(), u.length());
                } finally {
                    release(u.id());
                }
            }
            removeOrphans(meter);
        } catch (IOException | RuntimeException e) {
            log.warn("cannot remove expired tus uploads: {}", e.toString());
        }
    }

    /**
     * Deletes the part files that no upload of the ledger owns: a crash between an upload's
     * removal and its file's deletion, or between a creation's file and its record, leaves one.
     */
    private void removeOrphans(TransferMeter meter) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        List<Path> parts;
        try (var files = Files.list(dir)) {
            parts = files.filter(p -> p.getFileName().toString().endsWith(".part")).toList();
        }
        for (Path p : parts) {
            String name = p.getFileName().toString();
            String id = name.substring(0, name.length() - ".part".length());
            if (!busy.add(id)) {
                continue;
            }
            try {
                ResumableUpload owner = meter.resumableUploads().upload(id);
                if (owner == null || owner.isFinished()) {
                    Files.deleteIfExists(p);
                    log.info("deleted {}: no tus upload owns it", p);
                }
            } finally {
                release(id);
            }
        }
    }

    /** How often the sweeper looks for expired uploads. */
    Duration sweepEvery() {
        Duration quarter = config.expiry().dividedBy(4);
        Duration min = Duration.ofSeconds(1);
        Duration max = Duration.ofMinutes(1);
        return quarter.compareTo(min) < 0 ? min : quarter.compareTo(max) > 0 ? max : quarter;
    }

    /** Forgets {@code u}, deletes its partial data and counts it as one failed transfer. */
    private void discard(TransferMeter meter, UserFiles files, ResumableUpload u) throws IOException {
        if (!meter.resumableUploads().removeUpload(u.id())) {
            return; // another request or node ended it meanwhile, and counted it
        }
        countFailed(meter, u.user(), u.path(), files == null ? "" : files.backendName(), u.length(), u.offset());
        if (!u.isStaged()) {
            Files.deleteIfExists(part(u.id()));
        } else if (files == null) {
            log.warn("tus upload {}: its user {} is gone; what its backend keeps is left to the start-up sweep", u.id(),
                    u.user());
        } else {
            StagedUpload staged = files.stage(u.path(), u.staged());
            if (staged != null) {
                abortQuietly(staged, u);
            }
        }
    }

    // ---- checks

    /**
     * The caller's upload the path names. Another user's is not found either; an expired
     * one is 410 Gone, and removed.
     */
    private ResumableUpload find(Exchange ex) throws IOException {
        String id = ex.rawPath().substring(PREFIX.length() + 1);
        Caller caller = ex.caller();
        ResumableUpload u = uploads(ex).upload(id);
        if (u == null || !u.user().equals(caller.name())) {
            throw ErrorCode.NOT_FOUND.exception("no such upload: " + ex.rawPath());
        }
        String node = ex.services().accounts().meter().node();
        if (!u.isStaged() && !u.node().equals(node)) {
            throw ErrorCode.CONFLICT.exception("the upload " + ex.rawPath() + " is kept by the gateway node " + u.node()
                    + ", not by " + node + ": send its requests there");
        }
        boolean expired = !clock.instant().isBefore(u.expires());
        if (expired && u.isFinished()) {
            throw ErrorCode.NOT_FOUND.exception("no such upload: " + ex.rawPath());
        }
        if (expired && u.offset() < u.length()) {
            if (busy.add(u.id())) {
                try {
                    discard(ex.services().accounts().meter(), caller.files(), u);
                } finally {
                    release(u.id());
                }
            }
            throw new TusStatus(410, "Gone", "gone", "the upload " + ex.rawPath() + " expired at "
                    + HTTP_DATE.format(u.expires()));
        }
        return u;
    }

    /** Takes the upload for this request; 423 while another request has it. */
    private void hold(String id) throws TusStatus {
        if (!busy.add(id)) {
            throw new TusStatus(423, "Locked", "locked", "another request is writing to the upload " + PREFIX + "/"
                    + id + "; try again when it has ended");
        }
    }

    private static void checkVersion(Exchange ex) throws TusStatus {
        String v = ex.request().headers().get(TUS_RESUMABLE);
        if (!VERSION.equals(v)) {
            throw new TusStatus(412, "Precondition Failed", "unsupported_version",
                    v == null ? "Tus-Resumable: 1.0.0 is required" : "tus version " + v + " is not supported; this server speaks "
                            + VERSION);
        }
    }

    private static void checkContentType(Exchange ex) throws TusStatus {
        String type = ex.request().headers().get(HttpHeaderNames.CONTENT_TYPE);
        if (type == null || !type.split(";")[0].trim().equalsIgnoreCase(OFFSET_TYPE)) {
            throw new TusStatus(415, "Unsupported Media Type", "unsupported_media_type",
                    "the chunk must be sent as Content-Type: " + OFFSET_TYPE + ", not " + type);
        }
    }

    private static boolean hasBody(Exchange ex) {
        return HttpUtil.isTransferEncodingChunked(ex.request()) || HttpUtil.getContentLength(ex.request(), 0L) > 0;
    }

    /** A non-negative number header; -1 when absent. */
    private static long number(HttpHeaders h, String name) throws GatewayException {
        String v = h.get(name);
        if (v == null) {
            return -1;
        }
        try {
            long n = Long.parseLong(v.trim());
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw ErrorCode.BAD_REQUEST.exception(name + ": " + v + " is not a non-negative number");
    }

    /** Refuses an upload the user may not write, or that cannot fit the quota as things stand. */
    private static void checkRoom(TransferMeter meter, UserFiles files, long length) throws GatewayException {
        UserPolicy p = files.policy();
        if (!p.write()) {
            throw ErrorCode.FORBIDDEN.exception(files.user() + " may not upload");
        }
        if (p.quotaBytes() > 0 && meter.storedOfUser(files.user()).bytes() + length > p.quotaBytes()) {
            throw ErrorCode.TOO_LARGE.exception("Upload-Length " + length + " does not fit the quota of "
                    + p.quotaBytes() + " bytes");
        }
        if (p.quotaFiles() > 0 && meter.storedOfUser(files.user()).objects() + 1 > p.quotaFiles()) {
            throw ErrorCode.TOO_LARGE.exception("one more file does not fit the quota of " + p.quotaFiles() + " files");
        }
    }

    /** The user path Upload-Metadata names: {@code filename}, in the folder {@code path} when given. */
    static String target(String metadata) throws GatewayException {
        if (metadata.length() > MAX_METADATA) {
            throw ErrorCode.BAD_REQUEST.exception("Upload-Metadata is longer than " + MAX_METADATA + " characters");
        }
        Map<String, String> m = metadata(metadata);
        String name = m.get("filename");
        if (name == null || name.isEmpty()) {
            throw ErrorCode.BAD_REQUEST.exception("Upload-Metadata must name the file: filename <base64 of the name>");
        }
        if (name.contains("/") || name.equals(".") || name.equals("..")) {
            throw ErrorCode.BAD_PATH.exception("filename " + name + " is not a file name; give its folder as path");
        }
        String folder = m.getOrDefault("path", "/");
        return (folder.endsWith("/") ? folder : folder + "/") + name;
    }

    /** Upload-Metadata: comma-separated pairs of a key and, after a space, its value in base64. */
    static Map<String, String> metadata(String header) throws GatewayException {
        Map<String, String> out = new LinkedHashMap<>();
        if (header.isBlank()) {
            return out;
        }
        for (String pair : header.split(",", -1)) {
            String[] kv = pair.trim().split(" ", -1);
            if (kv.length > 2 || kv[0].isEmpty()) {
                throw ErrorCode.BAD_REQUEST.exception("Upload-Metadata: \"" + pair.trim() + "\" is not a key and a base64 value");
            }
            String value;
            try {
                value = kv.length == 2 ? new String(Base64.getDecoder().decode(kv[1]), StandardCharsets.UTF_8) : "";
            } catch (IllegalArgumentException e) {
                throw ErrorCode.BAD_REQUEST.exception("Upload-Metadata: the value of " + kv[0] + " is not base64");
            }
            if (out.put(kv[0], value) != null) {
                throw ErrorCode.BAD_REQUEST.exception("Upload-Metadata: " + kv[0] + " is given twice");
            }
        }
        return out;
    }
}
