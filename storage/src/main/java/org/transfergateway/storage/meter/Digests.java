package org.transfergateway.storage.meter;

import java.io.IOException;
import java.util.List;

/** The SHA-256 digests of objects, as the ledger records them with each stored change. */
public interface Digests {

    /** The digest recorded for {@code key} of the backend or pool {@code backend}; null when none is. */
    ObjectDigest digest(String backend, String key) throws IOException;

    /**
     * The digests of {@code backend}'s objects whose keys start with {@code prefix}, sorted
     * by key: at most {@code limit}, of keys after {@code after} (exclusive; null from the
     * start), so that many are read in pages.
     */
    List<ObjectDigest> digests(String backend, String prefix, String after, int limit) throws IOException;
}
