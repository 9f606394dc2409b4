package org.transfergateway.storage.chain;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.transfergateway.storage.DigestAlgorithm;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.StagedUpload;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.meter.ObjectDigest;

/**
 * A user's per-folder rules ({@code users[].folders}): each key goes to the chain of the
 * longest folder that covers it, else to the user's own. Each route is a whole chain of
 * its own (metering, quota, backend or pool), so a transfer is counted against the
 * backend that really holds it.
 *
 * <p>A rule's folder always exists, like the home, and shows in its parent's listing. A
 * rename from one route into another is refused: the two may be different services, and
 * no backend can rename across them.
 */
public final class FolderRoutes extends ForwardingStorage {
    /** Folder key -> its chain, longest folder first. */
    private final Map<String, Storage> routes = new LinkedHashMap<>();

    /** @param routes folder keys (the rule's path under the home) and their chains */
    public FolderRoutes(Storage fallback, Map<String, Storage> routes) {
        super(fallback);
        routes.entrySet().stream()
                .sorted(Comparator.comparingInt((Map.Entry<String, Storage> e) -> e.getKey().length()).reversed())
                .forEach(e -> this.routes.put(e.getKey(), e.getValue()));
    }

    private Storage route(String key) {
        for (Map.Entry<String, Storage> r : routes.entrySet()) {
            String folder = r.getKey();
            if (key.equals(folder) || key.startsWith(folder + "/")) {
                return r.getValue();
            }
        }
        return next;
    }

    @Override
    public ObjectInfo stat(String key) throws IOException {
        ObjectInfo info = route(key).stat(key);
        if (info == null && routes.containsKey(key)) {
            return ObjectInfo.folder(key, Instant.EPOCH);
        }
        return info;
    }

    @Override
    public Upload create(String key) throws IOException {
        return route(key).create(key);
    }

    @Override
    public Upload create(String key, long size) throws IOException {
        return route(key).create(key, size);
    }

    @Override
    public Upload createContinuing(String key, long keep) throws IOException {
        return route(key).createContinuing(key, keep);
    }

    @Override
    public StagedUpload stage(String key, String state) throws IOException {
        return route(key).stage(key, state);
    }

    @Override
    public Upload createStaged(String key, StagedUpload staged, String sha256) throws IOException {
        return route(key).createStaged(key, staged, sha256);
    }

    @Override
    public InputStream read(String key, long offset, long length) throws IOException {
        return route(key).read(key, offset, length);
    }

    /** The route's own listing, with the rules' folders that lie directly in this folder. */
    @Override
    public List<ObjectInfo> list(String dirKey) throws IOException {
        List<ObjectInfo> own = route(dirKey).list(dirKey);
        String prefix = dirKey.isEmpty() ? "" : dirKey + "/";
        Map<String, ObjectInfo> byName = new TreeMap<>();
        for (String folder : routes.keySet()) {
            if (folder.startsWith(prefix) && folder.length() > prefix.length()) {
                String sub = folder.substring(prefix.length());
                int slash = sub.indexOf('/');
                String name = slash < 0 ? sub : sub.substring(0, slash);
                byName.put(name, ObjectInfo.folder(prefix + name, Instant.EPOCH));
            }
        }
        if (byName.isEmpty()) {
            return own;
        }
        for (ObjectInfo i : own) {
            byName.put(i.name(), i);
        }
        return new ArrayList<>(byName.values());
    }

    @Override
    public void walk(String dirKey, Consumer<ObjectInfo> sink) throws IOException {
        route(dirKey).walk(dirKey, sink);
    }

    @Override
    public ObjectDigest recordedDigest(String key) throws IOException {
        return route(key).recordedDigest(key);
    }

    @Override
    public byte[] digest(String key, DigestAlgorithm algorithm) throws IOException {
        return route(key).digest(key, algorithm);
    }

    @Override
    public boolean delete(String key) throws IOException {
        return route(key).delete(key);
    }

    @Override
    public void move(String from, String to) throws IOException {
        Storage source = route(from);
        if (source != route(to) || routes.containsKey(from)
                || routes.keySet().stream().anyMatch(f -> f.startsWith(from + "/"))) {
            throw ErrorCode.CONFLICT.exception("files cannot be renamed into or out of a folder kept on another storage");
        }
        source.move(from, to);
    }

    @Override
    public void makeFolder(String dirKey) throws IOException {
        route(dirKey).makeFolder(dirKey);
    }

    @Override
    public boolean removeFolder(String dirKey) throws IOException {
        if (routes.containsKey(dirKey)) {
            throw ErrorCode.CONFLICT.exception("a folder with its own storage rule cannot be removed");
        }
        return route(dirKey).removeFolder(dirKey);
    }

    @Override
    public boolean keepsModified() {
        return next.keepsModified() && routes.values().stream().allMatch(Storage::keepsModified);
    }

    @Override
    public void setModified(String key, Instant time) throws IOException {
        route(key).setModified(key, time);
    }
}
