package org.transfergateway.storage.s3;

import java.time.Instant;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ModTimes;
import org.transfergateway.storage.ObjectInfo;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/**
 * What the parts of one S3 backend share: its name, the bucket, the prefix in front of
 * every key and the mapping between the gateway's keys and the bucket's, the SDK clients,
 * the executor of parts and puts, the memory budget and the part settings. Also the few
 * requests every part makes: the attributes of one object, and its deletion.
 */
final class S3Bucket {
    /** One log category for the whole backend, whichever class of it logs. */
    private static final Logger log = LoggerFactory.getLogger(S3Storage.class);

    final String name;
    final S3BackendConfig config;
    final String bucket;
    final String prefix;
    final long firstPartSize;
    final long partCeiling;
    final int partConcurrency;
    final MemoryBudget budget;
    /** Retries what can be replayed. */
    final S3Client client;
    /** The client for requests that cannot be retried (a body streamed from a client): one attempt. */
    final S3Client once;
    final ExecutorService executor;

    S3Bucket(S3BackendConfig cfg, StorageConfig shared, MemoryBudget budget, S3Clients clients) {
        this.name = cfg.name();
        this.config = cfg;
        this.bucket = cfg.bucket();
        this.prefix = cfg.prefix() == null ? "" : cfg.prefix();
        this.firstPartSize = cfg.partSize(shared.partSizeBytes());
        this.partCeiling = Math.min(budget.capacityBytes(), MultipartPut.MAX_BUFFER_SIZE);
        this.partConcurrency = cfg.partConcurrency(shared.partConcurrency());
        this.budget = budget;
        this.client = clients.client;
        this.once = clients.once;
        this.executor = Executors.newCachedThreadPool(S3Clients.threads("s3-" + name + "-"));
    }

    /**
     * Whether {@code other} lies in the same S3 service under the same credentials, so that
     * one request may name a source in it and a destination here.
     */
    boolean sameService(S3Bucket other) {
        S3BackendConfig a = config;
        S3BackendConfig b = other.config;
        return java.util.Objects.equals(a.endpoint(), b.endpoint()) && java.util.Objects.equals(a.region(), b.region())
                && java.util.Objects.equals(a.accessKey(), b.accessKey())
                && java.util.Objects.equals(a.secretKey(), b.secretKey());
    }

    String full(String key) {
        return prefix + key;
    }

    /** The prefix of everything under the folder {@code dirKey}. */
    String under(String dirKey) {
        return dirKey.isEmpty() ? prefix : prefix + dirKey + "/";
    }

    String strip(String fullKey) {
        return fullKey.substring(prefix.length());
    }

    static String unquote(String etag) {
        return etag != null && etag.length() >= 2 && etag.startsWith("\"") && etag.endsWith("\"")
                ? etag.substring(1, etag.length() - 1) : etag;
    }

    /** The gateway error for a failed request; {@code what} says what was attempted. */
    GatewayException failure(String what, SdkException e) {
        return S3Errors.failure(name, what, e);
    }

    /** The object at {@code key}, or null: HeadObject only, folders not considered. */
    ObjectInfo headFile(String key) throws GatewayException {
        if (key.isEmpty()) {
            return null;
        }
        try {
            HeadObjectResponse h = head(key);
            return h == null ? null : info(key, h);
        } catch (SdkException e) {
            throw failure("reading the attributes of " + key, e);
        }
    }

    /** HeadObject of {@code key}, or null when there is no such object. */
    HeadObjectResponse head(String key) {
        try {
            return client.headObject(b -> b.bucket(bucket).key(full(key)));
        } catch (NoSuchKeyException e) {
            return null;
        } catch (SdkException e) {
            if (S3Errors.isStatus(e, 404)) {
                return null;
            }
            throw e;
        }
    }

    /** The object {@code key} as HeadObject describes it: its kept time ({@link ModTimes}) when it has one. */
    static ObjectInfo info(String key, HeadObjectResponse h) {
        long size = h.contentLength() != null ? h.contentLength() : 0L;
        Instant kept = ModTimes.parseSeconds(h.metadata().get(ModTimes.S3_KEY));
        Instant modified = kept != null ? kept : h.lastModified() != null ? h.lastModified() : Instant.EPOCH;
        return ObjectInfo.file(key, size, modified, unquote(h.eTag()));
    }

    void deleteFull(String fullKey, String what) throws GatewayException {
        try {
            client.deleteObject(b -> b.bucket(bucket).key(fullKey));
        } catch (SdkException e) {
            throw failure("deleting " + what, e);
        }
    }

    /** The object just stored, as S3 now tells it; what is known when it cannot be read back. */
    ObjectInfo storedInfo(String key, long written, String etag) {
        try {
            ObjectInfo info = headFile(key);
            if (info != null) {
                return info;
            }
        } catch (GatewayException | RuntimeException e) {
            // Stored all the same: answer with what is known.
            log.debug("{}: could not read back {}: {}", name, key, e.toString());
        }
        return ObjectInfo.file(key, written, Instant.now(), unquote(etag));
    }
}
