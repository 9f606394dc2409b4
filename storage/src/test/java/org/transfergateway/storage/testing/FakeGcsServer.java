package org.transfergateway.storage.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A fake of Google Cloud Storage's JSON API on the loopback address, for tests: no
 * emulator of GCS runs on this machine (fake-gcs-server needs Go or Docker, storage-testbench
 * PyPI), so this one is kept to what Google's Java client and our backend send, checked
 * against the API's documentation, and strict: a request it does not know (a path, a query
 * parameter, a malformed Content-Range, a chunk that is not a multiple of 256 KiB) is
 * answered 400 or 501 and recorded in {@link #rejected()}, which tests assert empty, so that
 * a test fails rather than passes by accident.
 *
 * <p>What it serves: bucket get; object insert by media, multipart and resumable uploads
 * (sessions, chunks answered 308 with {@code Range}, status queries, cancel by DELETE
 * answered 499); object get (metadata, and {@code alt=media} with {@code Range}); list with
 * prefix, delimiter, pages; delete; rewrite with a rewrite token (the source's custom
 * metadata carried over unless the body gives some); compose; patch of the custom metadata; the
 * generation preconditions {@code ifGenerationMatch} and {@code generation}, and
 * {@code ifMetagenerationMatch} on a patch. An object becomes visible
 * only when its last chunk arrives. A token endpoint ({@link #tokenUri()}) refuses every
 * grant, for tests of wrong credentials.
 *
 * <p>Objects are kept in memory, one generation each.
 */
public final class FakeGcsServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FakeGcsServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long CHUNK_GRANULARITY = 256 * 1024;
    private static final Pattern CHUNK_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");
    private static final Pattern QUERY_RANGE = Pattern.compile("bytes \\*/(\\d+|\\*)");

    private final HttpServer server;
    private final ExecutorService executor;
    private final Map<String, NavigableMap<String, StoredObject>> buckets = new ConcurrentHashMap<>();
    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final AtomicLong generations = new AtomicLong(1_700_000_000_000_000L);
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private final List<String> rejected = new CopyOnWriteArrayList<>();
    private final AtomicInteger failChunks = new AtomicInteger();
    private final AtomicInteger partialChunks = new AtomicInteger();
    private volatile int pageSize = 1000;
    private volatile long rewriteBytesPerCall = Long.MAX_VALUE;
    private volatile String digestOnlyPrefix;

    /**
     * One object: its bytes (null when only its digest is kept), size, SHA-256, generation,
     * and its custom metadata with the metageneration that counts its changes.
     */
    private record StoredObject(String bucket, String name, byte[] data, long size, byte[] sha256, long generation,
            Instant updated, Map<String, String> metadata, long metageneration) {
        StoredObject(String bucket, String name, byte[] data, long generation, Instant updated) {
            this(bucket, name, data, data.length, FakeGcsServer.sha256(data), generation, updated, Map.of(), 1);
        }

        StoredObject {
            metadata = Map.copyOf(metadata);
        }

        byte[] bytes() {
            if (data == null) {
                throw new Answer(501, "notImplemented", name + " is kept as a digest only");
            }
            return data;
        }
    }

    /** A resumable upload session: the bytes persisted so far, or only their digest and count. */
    private static final class Session {
        final String bucket;
        final String name;
        final Long ifGenerationMatch;
        final ByteArrayOutputStream data;
        final MessageDigest digest = sha256Digest();
        long persisted;
        StoredObject result;

        Session(String bucket, String name, Long ifGenerationMatch, boolean digestOnly) {
            this.bucket = bucket;
            this.name = name;
            this.ifGenerationMatch = ifGenerationMatch;
            this.data = digestOnly ? null : new ByteArrayOutputStream();
        }

        void write(byte[] b, int off, int len) {
            if (data != null) {
                data.write(b, off, len);
            }
            digest.update(b, off, len);
            persisted += len;
        }
    }

    private FakeGcsServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /** Starts a server on 127.0.0.1 on a free port. */
    public static FakeGcsServer start() throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        AtomicInteger n = new AtomicInteger();
        ExecutorService executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "fake-gcs-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        FakeGcsServer fake = new FakeGcsServer(server, executor);
        server.createContext("/", fake::handle);
        server.setExecutor(executor);
        server.start();
        return fake;
    }

    /** The endpoint to configure: {@code http://127.0.0.1:port}. */
    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** An OAuth token endpoint that refuses every grant, to put in a service account key. */
    public URI tokenUri() {
        return URI.create(endpoint() + "/token");
    }

    public void createBucket(String bucket) {
        buckets.putIfAbsent(bucket, new ConcurrentSkipListMap<>());
    }

    /** The most entries one list page holds, whatever the client asks: small pages exercise paging. */
    public void pageSize(int size) {
        this.pageSize = size;
    }

    /** The most bytes one rewrite call copies before answering with a token. */
    public void rewriteBytesPerCall(long bytes) {
        this.rewriteBytesPerCall = bytes;
    }

    /** The next {@code n} chunk PUTs are answered 503 without taking any byte. */
    public void failNextChunks(int n) {
        failChunks.set(n);
    }

    /**
     * The next {@code n} chunks of more than 256 KiB that are not the last are taken only in
     * part (their first 256 KiB), answered 308 with the shorter {@code Range}, as GCS may.
     */
    public void takePartOfNextChunks(int n) {
        partialChunks.set(n);
    }

    /**
     * Objects uploaded by resumable sessions under {@code prefix} keep only their size and
     * SHA-256, not their bytes: for tests that upload more than this JVM should hold.
     */
    public void keepDigestsOnlyUnder(String prefix) {
        this.digestOnlyPrefix = prefix;
    }

    /** The size and SHA-256 of an object, or null when there is none. */
    public Map.Entry<Long, byte[]> digest(String bucket, String name) {
        StoredObject o = buckets.getOrDefault(bucket, new ConcurrentSkipListMap<>()).get(name);
        return o == null ? null : Map.entry(o.size(), o.sha256());
    }

    /** Object names of {@code bucket} under {@code prefix}, committed ones only. */
    public List<String> names(String bucket, String prefix) {
        return buckets.getOrDefault(bucket, new ConcurrentSkipListMap<>()).keySet().stream()
                .filter(k -> k.startsWith(prefix)).toList();
    }

    public byte[] content(String bucket, String name) {
        StoredObject o = buckets.getOrDefault(bucket, new ConcurrentSkipListMap<>()).get(name);
        return o == null ? null : o.bytes();
    }

    /** Stores an object directly, as a seed. */
    public void put(String bucket, String name, byte[] data) {
        bucket(bucket).put(name, new StoredObject(bucket, name, data, generations.incrementAndGet(), Instant.now()));
    }

    /** Stores an object with custom metadata, as another client would have written it. */
    public void put(String bucket, String name, byte[] data, Map<String, String> metadata) {
        bucket(bucket).put(name, new StoredObject(bucket, name, data, data.length, sha256(data), generations.incrementAndGet(),
                Instant.now(), metadata, 1));
    }

    /** The custom metadata of an object, or null when there is none such. */
    public Map<String, String> metadata(String bucket, String name) {
        StoredObject o = bucket(bucket).get(name);
        return o == null ? null : o.metadata();
    }

    /** Resumable sessions neither completed nor cancelled, as "bucket/name" (of objects under {@code prefix}). */
    public List<String> openSessions(String prefix) {
        return sessions.values().stream().filter(s -> s.result == null && s.name.startsWith(prefix))
                .map(s -> s.bucket + "/" + s.name).toList();
    }

    /** Every request as "METHOD path?query", in arrival order. */
    public List<String> requests() {
        return List.copyOf(requests);
    }

    /** The requests refused as unknown or malformed since the last call, with the reason. */
    public synchronized List<String> takeRejected() {
        List<String> taken = List.copyOf(rejected);
        rejected.removeAll(taken);
        return taken;
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    // ---- dispatch ----

    private NavigableMap<String, StoredObject> bucket(String name) {
        NavigableMap<String, StoredObject> b = buckets.get(name);
        if (b == null) {
            throw new Answer(404, "notFound", "The specified bucket does not exist: " + name);
        }
        return b;
    }

    /** An error answer, thrown from a handler. */
    private static final class Answer extends RuntimeException {
        final int status;
        final String reason;

        Answer(int status, String reason, String message) {
            super(message, null, false, false);
            this.status = status;
            this.reason = reason;
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        String line = ex.getRequestMethod() + " " + ex.getRequestURI().getRawPath()
                + (ex.getRequestURI().getRawQuery() != null ? "?" + ex.getRequestURI().getRawQuery() : "");
        requests.add(line);
        try (ex) {
            try {
                route(ex, body(ex));
            } catch (Answer a) {
                if (a.status == 400 || a.status == 501) {
                    rejected.add(line + " -> " + a.status + " " + a.getMessage());
                    log.warn("fake GCS refused {}: {} {}", line, a.status, a.getMessage());
                }
                error(ex, a.status, a.reason, a.getMessage());
            } catch (RuntimeException e) {
                rejected.add(line + " -> 500 " + e);
                log.warn("fake GCS failed on {}", line, e);
                error(ex, 500, "internalError", e.toString());
            }
        }
    }

    /** The request body; the client gzips some (multipart uploads), as GCS allows. */
    private static byte[] body(HttpExchange ex) throws IOException {
        String encoding = ex.getRequestHeaders().getFirst("Content-Encoding");
        if (encoding == null || encoding.equals("identity")) {
            return ex.getRequestBody().readAllBytes();
        }
        if (!encoding.equals("gzip")) {
            throw new Answer(400, "invalid", "Content-Encoding " + encoding);
        }
        try (java.util.zip.GZIPInputStream in = new java.util.zip.GZIPInputStream(ex.getRequestBody())) {
            return in.readAllBytes();
        }
    }

    private void route(HttpExchange ex, byte[] body) throws IOException {
        String method = ex.getRequestMethod();
        String path = ex.getRequestURI().getRawPath();
        Map<String, String> q = query(ex.getRequestURI().getRawQuery());
        List<String> seg = segments(path);
        if (path.equals("/token") && method.equals("POST")) {
            json(ex, 400, JSON.createObjectNode().put("error", "invalid_grant").put("error_description", "Invalid JWT Signature."));
            return;
        }
        // /storage/v1/b/{bucket}[/o[/{object}[/rewriteTo/b/{bucket}/o/{object}]]]
        if (seg.size() >= 4 && seg.get(0).equals("storage") && seg.get(1).equals("v1") && seg.get(2).equals("b")) {
            String bucket = seg.get(3);
            if (seg.size() == 4 && method.equals("GET")) {
                allow(q, "projection", "fields", "prettyPrint", "userProject");
                bucket(bucket);
                json(ex, 200, JSON.createObjectNode().put("kind", "storage#bucket").put("id", bucket).put("name", bucket)
                        .put("location", "US").put("storageClass", "STANDARD").put("metageneration", "1"));
                return;
            }
            if (seg.size() == 5 && seg.get(4).equals("o") && method.equals("GET")) {
                list(ex, bucket, q);
                return;
            }
            if (seg.size() == 6 && seg.get(4).equals("o")) {
                String name = seg.get(5);
                // Google's HTTP transport sends a PATCH as a POST with this header, which GCS honours.
                String override = ex.getRequestHeaders().getFirst("X-HTTP-Method-Override");
                if (method.equals("POST") && override != null) {
                    method = override;
                }
                switch (method) {
                    case "GET" -> get(ex, bucket, name, q);
                    case "DELETE" -> delete(ex, bucket, name, q);
                    case "PATCH" -> patch(ex, bucket, name, q, body);
                    default -> throw new Answer(501, "notImplemented", method + " of an object");
                }
                return;
            }
            if (seg.size() == 7 && seg.get(4).equals("o") && seg.get(6).equals("compose") && method.equals("POST")) {
                compose(ex, bucket, seg.get(5), q, body);
                return;
            }
            if (seg.size() == 11 && seg.get(4).equals("o") && seg.get(6).equals("rewriteTo") && seg.get(7).equals("b")
                    && seg.get(9).equals("o") && method.equals("POST")) {
                rewrite(ex, bucket, seg.get(5), seg.get(8), seg.get(10), q, body);
                return;
            }
        }
        // /download/storage/v1/b/{bucket}/o/{object}?alt=media
        if (seg.size() == 7 && seg.get(0).equals("download") && seg.get(1).equals("storage") && seg.get(3).equals("b")
                && seg.get(5).equals("o") && method.equals("GET")) {
            get(ex, seg.get(4), seg.get(6), q);
            return;
        }
        // /upload/storage/v1/b/{bucket}/o
        if (seg.size() == 6 && seg.get(0).equals("upload") && seg.get(1).equals("storage") && seg.get(3).equals("b")
                && seg.get(5).equals("o")) {
            String bucket = seg.get(4);
            String type = q.get("uploadType");
            if (method.equals("POST") && "media".equals(type)) {
                allow(q, "uploadType", "name", "ifGenerationMatch", "projection", "fields", "prettyPrint", "userProject");
                StoredObject o = store(bucket, required(q, "name"), body, precondition(q));
                json(ex, 200, resource(o));
                return;
            }
            if (method.equals("POST") && "multipart".equals(type)) {
                multipart(ex, bucket, q, body);
                return;
            }
            if (method.equals("POST") && "resumable".equals(type)) {
                startSession(ex, bucket, q, body);
                return;
            }
            if (method.equals("PUT") && "resumable".equals(type)) {
                allow(q, "uploadType", "upload_id", "name");
                chunk(ex, required(q, "upload_id"), body);
                return;
            }
            if (method.equals("DELETE") && "resumable".equals(type)) {
                allow(q, "uploadType", "upload_id", "name");
                Session s = sessions.remove(required(q, "upload_id"));
                if (s == null) {
                    throw new Answer(404, "notFound", "no such upload session");
                }
                ex.sendResponseHeaders(499, -1); // GCS's answer to a cancelled session
                return;
            }
        }
        throw new Answer(501, "notImplemented", "the fake does not serve " + method + " " + path);
    }

    // ---- objects ----

    private void get(HttpExchange ex, String bucket, String name, Map<String, String> q) throws IOException {
        allow(q, "alt", "generation", "ifGenerationMatch", "projection", "fields", "prettyPrint", "userProject");
        StoredObject o = bucket(bucket).get(name);
        if (o == null || (q.containsKey("generation") && Long.parseLong(q.get("generation")) != o.generation())) {
            throw new Answer(404, "notFound", "No such object: " + bucket + "/" + name);
        }
        checkMatch(q, o);
        if (!"media".equals(q.get("alt"))) {
            if (q.containsKey("alt") && !"json".equals(q.get("alt"))) {
                throw new Answer(400, "invalid", "alt=" + q.get("alt"));
            }
            json(ex, 200, resource(o));
            return;
        }
        byte[] content = o.bytes();
        long size = content.length;
        long from = 0;
        long to = size - 1;
        int status = 200;
        String range = ex.getRequestHeaders().getFirst("Range");
        if (range != null) {
            Matcher m = Pattern.compile("bytes=(\\d+)-(\\d*)").matcher(range);
            if (!m.matches()) {
                throw new Answer(400, "invalid", "Range " + range);
            }
            from = Long.parseLong(m.group(1));
            to = m.group(2).isEmpty() ? size - 1 : Math.min(size - 1, Long.parseLong(m.group(2)));
            if (from >= size && size > 0) {
                ex.getResponseHeaders().set("Content-Range", "bytes */" + size);
                throw new Answer(416, "requestedRangeNotSatisfiable", "The requested range cannot be satisfied.");
            }
            status = 206;
            ex.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + to + "/" + size);
        }
        ex.getResponseHeaders().set("Content-Type", "application/octet-stream");
        ex.getResponseHeaders().set("x-goog-generation", Long.toString(o.generation()));
        ex.getResponseHeaders().set("x-goog-metageneration", Long.toString(o.metageneration()));
        ex.getResponseHeaders().set("x-goog-stored-content-length", Long.toString(size));
        ex.getResponseHeaders().set("x-goog-stored-content-encoding", "identity");
        ex.getResponseHeaders().set("x-goog-hash", "crc32c=" + crc32c(content) + ",md5=" + md5(content));
        int length = (int) Math.max(0, to - from + 1);
        ex.sendResponseHeaders(status, length == 0 ? -1 : length);
        if (length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(content, (int) from, length);
            }
        }
    }

    private void delete(HttpExchange ex, String bucket, String name, Map<String, String> q) throws IOException {
        allow(q, "generation", "ifGenerationMatch", "prettyPrint", "userProject");
        NavigableMap<String, StoredObject> b = bucket(bucket);
        synchronized (b) {
            StoredObject o = b.get(name);
            if (o == null || (q.containsKey("generation") && Long.parseLong(q.get("generation")) != o.generation())) {
                throw new Answer(404, "notFound", "No such object: " + bucket + "/" + name);
            }
            checkMatch(q, o);
            b.remove(name);
        }
        ex.sendResponseHeaders(204, -1);
    }

    /**
     * objects.patch, of the custom metadata only (what the backend changes): keys given
     * are set, keys given as null removed, others kept, as the JSON API merges; the
     * generation stays, the metageneration goes up. Other writable fields are refused, so
     * that a test sees a request this fake would answer wrongly.
     */
    private void patch(HttpExchange ex, String bucket, String name, Map<String, String> q, byte[] body) throws IOException {
        allow(q, "generation", "ifGenerationMatch", "ifMetagenerationMatch", "projection", "fields", "prettyPrint",
                "userProject");
        JsonNode patch = JSON.readTree(body);
        if (patch == null || !patch.isObject()) {
            throw new Answer(400, "invalid", "the patch is not an object resource");
        }
        patch.fieldNames().forEachRemaining(f -> {
            if (!Set.of("metadata", "bucket", "name", "generation", "metageneration").contains(f)) {
                throw new Answer(501, "notImplemented", "a patch of " + f);
            }
        });
        NavigableMap<String, StoredObject> b = bucket(bucket);
        StoredObject changed;
        synchronized (b) {
            StoredObject o = b.get(name);
            if (o == null || (q.containsKey("generation") && Long.parseLong(q.get("generation")) != o.generation())) {
                throw new Answer(404, "notFound", "No such object: " + bucket + "/" + name);
            }
            checkMatch(q, o);
            if (q.containsKey("ifMetagenerationMatch") && Long.parseLong(q.get("ifMetagenerationMatch")) != o.metageneration()) {
                throw new Answer(412, "conditionNotMet", "At least one of the pre-conditions you specified did not hold.");
            }
            Map<String, String> metadata = new java.util.HashMap<>(o.metadata());
            JsonNode given = patch.get("metadata");
            if (given != null && given.isNull()) {
                metadata.clear();
            } else if (given != null) {
                given.fields().forEachRemaining(e -> {
                    if (e.getValue().isNull()) {
                        metadata.remove(e.getKey());
                    } else {
                        metadata.put(e.getKey(), e.getValue().asText());
                    }
                });
            }
            changed = new StoredObject(o.bucket(), o.name(), o.data(), o.size(), o.sha256(), o.generation(), Instant.now(),
                    metadata, o.metageneration() + 1);
            b.put(name, changed);
        }
        json(ex, 200, resource(changed));
    }

    private void list(HttpExchange ex, String bucket, Map<String, String> q) throws IOException {
        allow(q, "prefix", "delimiter", "pageToken", "maxResults", "projection", "fields", "prettyPrint", "userProject",
                "versions", "includeTrailingDelimiter", "includeFoldersAsPrefixes", "softDeleted");
        if ("true".equals(q.get("versions")) || "true".equals(q.get("softDeleted"))) {
            throw new Answer(501, "notImplemented", "versions and soft-deleted objects are not kept");
        }
        String prefix = q.getOrDefault("prefix", "");
        String delimiter = q.get("delimiter");
        int max = Math.min(pageSize, q.containsKey("maxResults") ? Integer.parseInt(q.get("maxResults")) : 1000);
        String after = q.containsKey("pageToken") ? new String(Base64.getUrlDecoder().decode(q.get("pageToken")), StandardCharsets.UTF_8) : null;
        ArrayNode items = JSON.createArrayNode();
        Set<String> prefixes = new TreeSet<>();
        String last = null;
        boolean more = false;
        NavigableMap<String, StoredObject> b = bucket(bucket);
        NavigableMap<String, StoredObject> view = after == null ? b.tailMap(prefix, true) : b.tailMap(after, false);
        for (StoredObject o : view.values()) {
            if (!o.name().startsWith(prefix)) {
                break;
            }
            // As on GCS, a name with the delimiter after the prefix rolls up into a prefix,
            // also when it ends there (a folder marker "d/empty/" lists as the prefix).
            int d = delimiter == null ? -1 : o.name().indexOf(delimiter, prefix.length());
            boolean isPrefix = d >= 0;
            String entry = isPrefix ? o.name().substring(0, d + delimiter.length()) : o.name();
            if (isPrefix && prefixes.contains(entry)) {
                last = o.name();
                continue;
            }
            if (items.size() + prefixes.size() >= max) {
                more = true;
                break;
            }
            if (isPrefix) {
                prefixes.add(entry);
            } else {
                items.add(resource(o));
            }
            last = o.name();
        }
        if (more && isPrefixRun(last, delimiter, prefix)) {
            // The token resumes after every object of the last prefix listed.
            last = lastOfPrefix(b, last, delimiter, prefix);
        }
        ObjectNode page = JSON.createObjectNode().put("kind", "storage#objects");
        if (!items.isEmpty()) {
            page.set("items", items);
        }
        if (!prefixes.isEmpty()) {
            ArrayNode p = page.putArray("prefixes");
            prefixes.forEach(p::add);
        }
        if (more) {
            page.put("nextPageToken", Base64.getUrlEncoder().encodeToString(last.getBytes(StandardCharsets.UTF_8)));
        }
        json(ex, 200, page);
    }

    private static boolean isPrefixRun(String name, String delimiter, String prefix) {
        return name != null && delimiter != null && name.indexOf(delimiter, prefix.length()) >= 0;
    }

    private static String lastOfPrefix(NavigableMap<String, StoredObject> b, String name, String delimiter, String prefix) {
        String run = name.substring(0, name.indexOf(delimiter, prefix.length()) + delimiter.length());
        String last = name;
        for (String k : b.tailMap(name, true).keySet()) {
            if (!k.startsWith(run)) {
                break;
            }
            last = k;
        }
        return last;
    }

    private void rewrite(HttpExchange ex, String srcBucket, String srcName, String dstBucket, String dstName,
            Map<String, String> q, byte[] body) throws IOException {
        allow(q, "rewriteToken", "maxBytesRewrittenPerCall", "sourceGeneration", "ifGenerationMatch",
                "ifSourceGenerationMatch", "projection", "fields", "prettyPrint", "userProject");
        JsonNode meta = body.length > 0 ? JSON.readTree(body) : null;
        if (meta != null && !meta.isObject()) {
            throw new Answer(400, "invalid", "the rewrite body is not an object resource");
        }
        StoredObject o = bucket(srcBucket).get(srcName);
        if (o == null || (q.containsKey("sourceGeneration") && Long.parseLong(q.get("sourceGeneration")) != o.generation())) {
            throw new Answer(404, "notFound", "No such object: " + srcBucket + "/" + srcName);
        }
        if (q.containsKey("ifSourceGenerationMatch") && Long.parseLong(q.get("ifSourceGenerationMatch")) != o.generation()) {
            throw new Answer(412, "conditionNotMet", "ifSourceGenerationMatch");
        }
        long done = 0;
        if (q.containsKey("rewriteToken")) {
            String[] t = new String(Base64.getUrlDecoder().decode(q.get("rewriteToken")), StandardCharsets.UTF_8).split(":");
            if (t.length != 2 || Long.parseLong(t[0]) != o.generation()) {
                throw new Answer(400, "invalid", "a rewrite token of another source");
            }
            done = Long.parseLong(t[1]);
        }
        long perCall = Math.min(rewriteBytesPerCall,
                q.containsKey("maxBytesRewrittenPerCall") ? Long.parseLong(q.get("maxBytesRewrittenPerCall")) : Long.MAX_VALUE);
        long size = o.bytes().length;
        done = Math.min(size, done + perCall);
        ObjectNode answer = JSON.createObjectNode().put("kind", "storage#rewriteResponse")
                .put("totalBytesRewritten", Long.toString(done)).put("objectSize", Long.toString(size));
        if (done < size) {
            answer.put("done", false).put("rewriteToken", Base64.getUrlEncoder().encodeToString(
                    (o.generation() + ":" + done).getBytes(StandardCharsets.UTF_8)));
        } else {
            // As the JSON API does: the destination gets the metadata the body gives, else the source's.
            Map<String, String> metadata = o.metadata();
            if (meta != null && meta.has("metadata")) {
                Map<String, String> given = new java.util.HashMap<>();
                meta.get("metadata").fields().forEachRemaining(e -> given.put(e.getKey(), e.getValue().asText()));
                metadata = given;
            }
            StoredObject copy = store(dstBucket, dstName, o.bytes(), o.bytes().length, o.sha256(), precondition(q), metadata);
            answer.put("done", true).set("resource", resource(copy));
        }
        json(ex, 200, answer);
    }

    /**
     * objects.compose: the sources (at most 32, of the destination's bucket, each at the
     * generation named, with its own {@code ifGenerationMatch}) joined into the destination,
     * under the destination's {@code ifGenerationMatch}; the metadata is the request's
     * destination resource's, none of the sources'.
     */
    private void compose(HttpExchange ex, String bucket, String name, Map<String, String> q, byte[] body) throws IOException {
        allow(q, "ifGenerationMatch", "ifMetagenerationMatch", "kmsKeyName", "destinationPredefinedAcl", "projection", "fields",
                "prettyPrint", "userProject");
        JsonNode request = JSON.readTree(body);
        JsonNode sources = request == null ? null : request.get("sourceObjects");
        if (sources == null || !sources.isArray() || sources.isEmpty() || sources.size() > 32) {
            throw new Answer(400, "invalid", "a compose takes 1 to 32 sourceObjects");
        }
        ByteArrayOutputStream joined = new ByteArrayOutputStream();
        NavigableMap<String, StoredObject> b = bucket(bucket);
        for (JsonNode source : sources) {
            String sourceName = source.path("name").asText(null);
            StoredObject o = sourceName == null ? null : b.get(sourceName);
            if (o == null || (source.has("generation") && source.get("generation").asLong() != o.generation())) {
                throw new Answer(404, "notFound", "No such object: " + bucket + "/" + sourceName);
            }
            JsonNode pre = source.path("objectPreconditions").path("ifGenerationMatch");
            if (!pre.isMissingNode() && pre.asLong() != o.generation()) {
                throw new Answer(412, "conditionNotMet", "At least one of the pre-conditions you specified did not hold.");
            }
            joined.write(o.bytes());
        }
        Map<String, String> metadata = new java.util.HashMap<>();
        request.path("destination").path("metadata").fields().forEachRemaining(e -> metadata.put(e.getKey(), e.getValue().asText()));
        byte[] data = joined.toByteArray();
        StoredObject composed = store(bucket, name, data, data.length, sha256(data), precondition(q), metadata);
        json(ex, 200, resource(composed));
    }

    // ---- uploads ----

    private void multipart(HttpExchange ex, String bucket, Map<String, String> q, byte[] body) throws IOException {
        allow(q, "uploadType", "name", "ifGenerationMatch", "projection", "fields", "prettyPrint", "userProject");
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        Matcher m = type == null ? null : Pattern.compile("multipart/related; ?boundary=\"?([^\";]+)\"?").matcher(type);
        if (m == null || !m.find()) {
            throw new Answer(400, "invalid", "a multipart upload of type " + type);
        }
        byte[] delimiter = ("--" + m.group(1)).getBytes(StandardCharsets.ISO_8859_1);
        List<byte[]> parts = new ArrayList<>();
        int at = indexOf(body, delimiter, 0);
        while (at >= 0) {
            int start = at + delimiter.length;
            if (start + 1 < body.length && body[start] == '-' && body[start + 1] == '-') {
                break;
            }
            int next = indexOf(body, delimiter, start);
            if (next < 0) {
                throw new Answer(400, "invalid", "an unterminated multipart body");
            }
            parts.add(java.util.Arrays.copyOfRange(body, start, next));
            at = next;
        }
        if (parts.size() != 2) {
            throw new Answer(400, "invalid", "a multipart upload of " + parts.size() + " parts (" + type + ", "
                    + ex.getRequestHeaders().getFirst("Content-Encoding") + ", " + body.length + " bytes)");
        }
        JsonNode meta = JSON.readTree(partBody(parts.get(0)));
        byte[] data = partBody(parts.get(1));
        String name = meta.hasNonNull("name") ? meta.get("name").asText() : required(q, "name");
        json(ex, 200, resource(store(bucket, name, data, precondition(q))));
    }

    /** The body of one MIME part: after its headers' blank line, without the CRLF before the next delimiter. */
    private static byte[] partBody(byte[] part) {
        byte[] crlf2 = "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
        int h = indexOf(part, crlf2, 0);
        if (h < 0) {
            throw new Answer(400, "invalid", "a multipart part without headers");
        }
        int end = part.length;
        if (end >= 2 && part[end - 2] == '\r' && part[end - 1] == '\n') {
            end -= 2;
        }
        return java.util.Arrays.copyOfRange(part, h + 4, end);
    }

    private static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private void startSession(HttpExchange ex, String bucket, Map<String, String> q, byte[] body) throws IOException {
        allow(q, "uploadType", "name", "ifGenerationMatch", "projection", "fields", "prettyPrint", "userProject");
        bucket(bucket);
        String name = q.get("name");
        if (body.length > 0) {
            JsonNode meta = JSON.readTree(body);
            if (!meta.isObject()) {
                throw new Answer(400, "invalid", "the session's metadata is not an object resource");
            }
            if (meta.hasNonNull("name")) {
                name = meta.get("name").asText();
            }
        }
        if (name == null || name.isEmpty()) {
            throw new Answer(400, "required", "an upload needs an object name");
        }
        String id = UUID.randomUUID().toString().replace("-", "");
        String digestOnly = digestOnlyPrefix;
        sessions.put(id, new Session(bucket, name, precondition(q), digestOnly != null && name.startsWith(digestOnly)));
        // On the host the client asked, as GCS answers: a session opened through a relay stays on it.
        String host = ex.getRequestHeaders().getFirst("Host");
        String base = host == null ? endpoint().toString() : "http://" + host;
        ex.getResponseHeaders().set("Location", base + "/upload/storage/v1/b/" + bucket + "/o?uploadType=resumable&name="
                + URLEncoder.encode(name, StandardCharsets.UTF_8) + "&upload_id=" + id);
        ex.sendResponseHeaders(200, -1);
    }

    private void chunk(HttpExchange ex, String id, byte[] body) throws IOException {
        Session s = sessions.get(id);
        if (s == null) {
            throw new Answer(404, "notFound", "no such upload session (completed, cancelled or never started)");
        }
        String range = ex.getRequestHeaders().getFirst("Content-Range");
        if (range == null) {
            throw new Answer(400, "invalid", "a chunk without Content-Range");
        }
        synchronized (s) {
            Matcher query = QUERY_RANGE.matcher(range);
            if (query.matches()) {
                if (body.length != 0) {
                    throw new Answer(400, "invalid", "Content-Range " + range + " with a body of " + body.length);
                }
                if (!query.group(1).equals("*")) {
                    finish(ex, s, Long.parseLong(query.group(1)));
                    return;
                }
                if (s.result != null) {
                    json(ex, 200, resource(s.result));
                    return;
                }
                persisted(ex, s);
                return;
            }
            Matcher m = CHUNK_RANGE.matcher(range);
            if (!m.matches()) {
                throw new Answer(400, "invalid", "Content-Range " + range);
            }
            if (s.result != null) {
                throw new Answer(400, "invalid", "a chunk after the upload completed");
            }
            long first = Long.parseLong(m.group(1));
            long last = Long.parseLong(m.group(2));
            long length = last - first + 1;
            if (length != body.length) {
                throw new Answer(400, "invalid", "Content-Range " + range + " with a body of " + body.length);
            }
            if (first != s.persisted) {
                throw new Answer(400, "invalid", "a chunk from " + first + " where " + s.persisted + " bytes are persisted");
            }
            boolean lastChunk = !m.group(3).equals("*");
            if (!lastChunk && length % CHUNK_GRANULARITY != 0) {
                throw new Answer(400, "invalid", "a chunk of " + length + " bytes, not a multiple of 256 KiB");
            }
            if (failChunks.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                throw new Answer(503, "backendError", "injected failure");
            }
            if (!lastChunk && length > CHUNK_GRANULARITY && partialChunks.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                s.write(body, 0, (int) CHUNK_GRANULARITY);
                persisted(ex, s);
                return;
            }
            s.write(body, 0, body.length);
            if (lastChunk) {
                finish(ex, s, Long.parseLong(m.group(3)));
            } else {
                persisted(ex, s);
            }
        }
    }

    private void persisted(HttpExchange ex, Session s) throws IOException {
        if (s.persisted > 0) {
            ex.getResponseHeaders().set("Range", "bytes=0-" + (s.persisted - 1));
        }
        ex.getResponseHeaders().set("Content-Length", "0");
        ex.sendResponseHeaders(308, -1);
    }

    private void finish(HttpExchange ex, Session s, long total) throws IOException {
        if (total != s.persisted) {
            throw new Answer(400, "invalid", "a total of " + total + " where " + s.persisted + " bytes are persisted");
        }
        s.result = store(s.bucket, s.name, s.data == null ? null : s.data.toByteArray(), s.persisted, s.digest.digest(),
                s.ifGenerationMatch);
        json(ex, 200, resource(s.result));
    }

    /** Makes an object visible, under its precondition. */
    private StoredObject store(String bucket, String name, byte[] data, Long ifGenerationMatch) {
        return store(bucket, name, data, data.length, sha256(data), ifGenerationMatch);
    }

    private StoredObject store(String bucket, String name, byte[] data, long size, byte[] sha256, Long ifGenerationMatch) {
        return store(bucket, name, data, size, sha256, ifGenerationMatch, Map.of());
    }

    private StoredObject store(String bucket, String name, byte[] data, long size, byte[] sha256, Long ifGenerationMatch,
            Map<String, String> metadata) {
        NavigableMap<String, StoredObject> b = bucket(bucket);
        synchronized (b) {
            StoredObject old = b.get(name);
            if (ifGenerationMatch != null && (old == null ? 0 : old.generation()) != ifGenerationMatch) {
                throw new Answer(412, "conditionNotMet", "At least one of the pre-conditions you specified did not hold.");
            }
            StoredObject o = new StoredObject(bucket, name, data, size, sha256, generations.incrementAndGet(), Instant.now(),
                    metadata, 1);
            b.put(name, o);
            return o;
        }
    }

    // ---- helpers ----

    private static Long precondition(Map<String, String> q) {
        return q.containsKey("ifGenerationMatch") ? Long.parseLong(q.get("ifGenerationMatch")) : null;
    }

    private static void checkMatch(Map<String, String> q, StoredObject o) {
        if (q.containsKey("ifGenerationMatch") && Long.parseLong(q.get("ifGenerationMatch")) != o.generation()) {
            throw new Answer(412, "conditionNotMet", "At least one of the pre-conditions you specified did not hold.");
        }
    }

    private static void allow(Map<String, String> q, String... known) {
        Set<String> ok = Set.of(known);
        for (String k : q.keySet()) {
            if (!ok.contains(k)) {
                throw new Answer(400, "invalid", "the query parameter " + k + " is not known here");
            }
        }
    }

    private static String required(Map<String, String> q, String key) {
        String v = q.get(key);
        if (v == null || v.isEmpty()) {
            throw new Answer(400, "required", "the query parameter " + key + " is required");
        }
        return v;
    }

    private ObjectNode resource(StoredObject o) {
        ObjectNode r = JSON.createObjectNode();
        if (o.data() != null) {
            r.put("md5Hash", md5(o.data())).put("crc32c", crc32c(o.data()));
        }
        if (!o.metadata().isEmpty()) {
            ObjectNode m = r.putObject("metadata");
            new TreeMap<>(o.metadata()).forEach(m::put);
        }
        return r.put("kind", "storage#object")
                .put("id", o.bucket() + "/" + o.name() + "/" + o.generation())
                .put("selfLink", endpoint() + "/storage/v1/b/" + o.bucket() + "/o/" + URLEncoder.encode(o.name(), StandardCharsets.UTF_8))
                .put("name", o.name()).put("bucket", o.bucket())
                .put("generation", Long.toString(o.generation())).put("metageneration", Long.toString(o.metageneration()))
                .put("contentType", "application/octet-stream").put("storageClass", "STANDARD")
                .put("size", Long.toString(o.size()))
                .put("etag", "C" + Long.toHexString(o.generation()) + "EAE=")
                .put("timeCreated", o.updated().toString()).put("updated", o.updated().toString());
    }

    private static MessageDigest sha256Digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] sha256(byte[] data) {
        return sha256Digest().digest(data);
    }

    private static String md5(byte[] data) {
        try {
            return Base64.getEncoder().encodeToString(MessageDigest.getInstance("MD5").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String crc32c(byte[] data) {
        CRC32C c = new CRC32C();
        c.update(data);
        return Base64.getEncoder().encodeToString(ByteBuffer.allocate(4).putInt((int) c.getValue()).array());
    }

    private static void json(HttpExchange ex, int status, JsonNode body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=UTF-8");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static void error(HttpExchange ex, int status, String reason, String message) throws IOException {
        ObjectNode e = JSON.createObjectNode();
        ObjectNode inner = e.putObject("error").put("code", status).put("message", message);
        inner.putArray("errors").addObject().put("reason", reason).put("message", message).put("domain", "global");
        json(ex, status, e);
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> q = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return q;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            if (q.put(k, v) != null) {
                throw new Answer(400, "invalid", "the query parameter " + k + " is given twice");
            }
        }
        return q;
    }

    /** The path's segments, each percent-decoded ("+" stays a plus: this is a path). */
    private static List<String> segments(String rawPath) {
        List<String> out = new ArrayList<>();
        for (String s : rawPath.split("/")) {
            if (!s.isEmpty()) {
                out.add(URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8));
            }
        }
        return out;
    }
}
