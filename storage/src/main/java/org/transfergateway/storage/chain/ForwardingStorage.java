package org.transfergateway.storage.chain;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;
import org.transfergateway.storage.DigestAlgorithm;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.StagedUpload;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.meter.ObjectDigest;

/**
 * A {@link Storage} that hands every call to the next one in a chain. A decorator for one
 * concern (permissions, metering, quota, routing) extends it and overrides only the calls
 * that concern touches, so the rest of the contract passes through unchanged.
 */
public abstract class ForwardingStorage implements Storage {
    protected final Storage next;

    protected ForwardingStorage(Storage next) {
        this.next = next;
    }

    @Override
    public String name() {
        return next.name();
    }

    @Override
    public ObjectInfo stat(String key) throws IOException {
        return next.stat(key);
    }

    @Override
    public Upload create(String key) throws IOException {
        return next.create(key);
    }

    @Override
    public Upload create(String key, long size) throws IOException {
        return next.create(key, size);
    }

    @Override
    public Upload createContinuing(String key, long keep) throws IOException {
        return next.createContinuing(key, keep);
    }

    @Override
    public StagedUpload stage(String key, String state) throws IOException {
        return next.stage(key, state);
    }

    @Override
    public Upload createStaged(String key, StagedUpload staged, String sha256) throws IOException {
        return next.createStaged(key, staged, sha256);
    }

    @Override
    public InputStream read(String key, long offset, long length) throws IOException {
        return next.read(key, offset, length);
    }

    @Override
    public List<ObjectInfo> list(String dirKey) throws IOException {
        return next.list(dirKey);
    }

    @Override
    public void walk(String dirKey, Consumer<ObjectInfo> sink) throws IOException {
        next.walk(dirKey, sink);
    }

    @Override
    public boolean delete(String key) throws IOException {
        return next.delete(key);
    }

    @Override
    public void move(String from, String to) throws IOException {
        next.move(from, to);
    }

    @Override
    public void makeFolder(String dirKey) throws IOException {
        next.makeFolder(dirKey);
    }

    @Override
    public boolean removeFolder(String dirKey) throws IOException {
        return next.removeFolder(dirKey);
    }

    @Override
    public ObjectInfo copyFrom(Storage source, String key) throws IOException {
        return next.copyFrom(source, key);
    }

    @Override
    public boolean placesCopies() {
        return next.placesCopies();
    }

    @Override
    public boolean keepsModified() {
        return next.keepsModified();
    }

    @Override
    public void setModified(String key, Instant time) throws IOException {
        next.setModified(key, time);
    }

    @Override
    public ObjectDigest recordedDigest(String key) throws IOException {
        return next.recordedDigest(key);
    }

    @Override
    public byte[] digest(String key, DigestAlgorithm algorithm) throws IOException {
        return next.digest(key, algorithm);
    }

    /** Closes nothing: the chain of one user's session does not own the shared backends below it. */
    @Override
    public void close() throws IOException {
    }
}
