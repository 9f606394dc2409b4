package org.transfergateway.storage.s3;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Folders and listings of a bucket. Folders are key prefixes, made to exist when empty
 * by a zero-byte marker object {@code dir/}; some S3-compatible services list a marker as
 * content, some leave it out of a listing under its own prefix, and this class hides both.
 */
final class S3Listing {
    /** HeadObjects at once while a listing reads its files' kept modification times. */
    static final int LISTING_HEADS = 16;

    private final S3Bucket s3;

    S3Listing(S3Bucket s3) {
        this.s3 = s3;
    }

    /** True when a marker or any object lies under {@code dirKey/}. */
    boolean isFolder(String dirKey) throws GatewayException {
        return isFolder(dirKey, false);
    }

    /**
     * A folder has something under it or, when empty, its marker. {@code orMarker} false
     * skips the marker's HEAD: the checks on the upload, delete and rename paths stay at
     * one request.
     */
    boolean isFolder(String dirKey, boolean orMarker) throws GatewayException {
        if (dirKey.isEmpty()) {
            return true;
        }
        try {
            if (!s3.client.listObjectsV2(b -> b.bucket(s3.bucket).prefix(s3.under(dirKey)).maxKeys(1)).contents().isEmpty()) {
                return true;
            }
            if (!orMarker) {
                return false;
            }
            // An empty folder is its marker alone, which some services (S3Proxy on a file
            // system) leave out of a listing under that very prefix.
            s3.client.headObject(b -> b.bucket(s3.bucket).key(s3.under(dirKey)));
            return true;
        } catch (NoSuchKeyException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            throw s3.failure("listing " + dirKey, e);
        } catch (SdkException e) {
            throw s3.failure("listing " + dirKey, e);
        }
    }

    /** The file or folder at {@code key}, or null. */
    ObjectInfo stat(String key) throws IOException {
        if (key.isEmpty()) {
            return ObjectInfo.folder("", Instant.EPOCH);
        }
        ObjectInfo file = s3.headFile(key);
        if (file != null) {
            return file;
        }
        return isFolder(key, true) ? ObjectInfo.folder(key, Instant.EPOCH) : null;
    }

    List<ObjectInfo> list(String dirKey) throws IOException {
        String dir = s3.under(dirKey);
        // By key: a folder can come both as a common prefix and as its marker.
        Map<String, ObjectInfo> entries = new TreeMap<>();
        try {
            ListObjectsV2Request request = ListObjectsV2Request.builder().bucket(s3.bucket).prefix(dir).delimiter("/").build();
            for (ListObjectsV2Response page : s3.client.listObjectsV2Paginator(request)) {
                for (S3Object o : page.contents()) {
                    if (staging(o.key())) {
                        continue;
                    }
                    if (o.key().endsWith("/")) {
                        // A marker one level down; some S3-compatible services list it as content.
                        if (!o.key().equals(dir)) {
                            entries.putIfAbsent(o.key(), folder(o.key()));
                        }
                    } else {
                        entries.put(o.key(), info(o));
                    }
                }
                page.commonPrefixes().stream().filter(p -> !staging(p.prefix()))
                        .forEach(p -> entries.put(p.prefix(), folder(p.prefix())));
            }
        } catch (SdkException e) {
            throw s3.failure("listing " + (dirKey.isEmpty() ? "the root folder" : dirKey), e);
        }
        List<ObjectInfo> out = new ArrayList<>(entries.values());
        out.sort(Comparator.comparing(ObjectInfo::name));
        return s3.config.serverTimesInListings() ? out : withKeptTimes(out, dirKey);
    }

    /**
     * The entries with the modification times kept in their objects' metadata, which
     * ListObjectsV2 does not return: one HeadObject per file, {@link #LISTING_HEADS} at
     * once. An object gone or replaced since it was listed keeps what the listing said.
     */
    private List<ObjectInfo> withKeptTimes(List<ObjectInfo> entries, String dirKey) throws GatewayException {
        List<Integer> files = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            if (!entries.get(i).folder()) {
                files.add(i);
            }
        }
        if (files.isEmpty()) {
            return entries;
        }
        ObjectInfo[] out = entries.toArray(new ObjectInfo[0]);
        int workers = Math.min(LISTING_HEADS, files.size());
        List<Future<?>> others = new ArrayList<>(workers);
        try {
            for (int w = 1; w < workers; w++) {
                int first = w;
                others.add(s3.executor.submit(() -> headShare(out, files, first, workers)));
            }
            headShare(out, files, 0, workers); // this thread takes a share too
            for (Future<?> f : others) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ErrorCode.BACKEND_FAILED.exception(s3.name + ": listing " + dirKey + " was interrupted");
        } catch (ExecutionException | SdkException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            if (cause instanceof SdkException sdk) {
                throw s3.failure("reading the times of the files in " + (dirKey.isEmpty() ? "the root folder" : dirKey), sdk);
            }
            throw ErrorCode.BACKEND_FAILED.failure(s3.name + ": listing " + dirKey + " failed: " + cause, cause);
        } finally {
            others.forEach(f -> f.cancel(true));
        }
        return List.of(out);
    }

    /** Every {@code step}-th file from {@code first} on: its kept time when its object is still the one listed. */
    private Void headShare(ObjectInfo[] out, List<Integer> files, int first, int step) {
        for (int j = first; j < files.size(); j += step) {
            int i = files.get(j);
            ObjectInfo listed = out[i];
            HeadObjectResponse h = s3.head(listed.key());
            if (h != null && Objects.equals(S3Bucket.unquote(h.eTag()), listed.etag())) {
                out[i] = S3Bucket.info(listed.key(), h);
            }
        }
        return null;
    }

    void walk(String dirKey, Consumer<ObjectInfo> sink) throws IOException {
        try {
            ListObjectsV2Request request = ListObjectsV2Request.builder().bucket(s3.bucket).prefix(s3.under(dirKey)).build();
            for (ListObjectsV2Response page : s3.client.listObjectsV2Paginator(request)) {
                for (S3Object o : page.contents()) {
                    if (!o.key().endsWith("/") && !staging(o.key())) {
                        sink.accept(info(o));
                    }
                }
            }
        } catch (SdkException e) {
            throw s3.failure("listing everything under " + (dirKey.isEmpty() ? "the root folder" : dirKey), e);
        }
    }

    /** True for the side objects of staged uploads ({@link S3Staged#STAGING}), which are no user's files. */
    private boolean staging(String fullKey) {
        return fullKey.startsWith(s3.prefix + S3Staged.STAGING);
    }

    /** The folder of a full prefix ending in "/". */
    private ObjectInfo folder(String fullPrefix) {
        String key = s3.strip(fullPrefix);
        return ObjectInfo.folder(key.substring(0, key.length() - 1), Instant.EPOCH);
    }

    private ObjectInfo info(S3Object o) {
        return ObjectInfo.file(s3.strip(o.key()), o.size(), o.lastModified() != null ? o.lastModified() : Instant.EPOCH,
                S3Bucket.unquote(o.eTag()));
    }

    /** Every object under {@code dir} (a full prefix ending in "/"), markers included. */
    List<S3Object> everythingUnder(String dir, String what) throws GatewayException {
        List<S3Object> all = new ArrayList<>();
        try {
            ListObjectsV2Request request = ListObjectsV2Request.builder().bucket(s3.bucket).prefix(dir).build();
            for (ListObjectsV2Response page : s3.client.listObjectsV2Paginator(request)) {
                all.addAll(page.contents());
            }
        } catch (SdkException e) {
            throw s3.failure("listing " + what, e);
        }
        return all;
    }
}
