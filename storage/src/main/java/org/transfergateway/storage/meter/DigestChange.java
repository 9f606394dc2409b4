package org.transfergateway.storage.meter;

/**
 * What a stored change does to the SHA-256 digests the ledger keeps of its backend's
 * objects ({@link Digests}), in the same transaction as the totals: a commit records the
 * new object's digest (or forgets the old one when the new digest is unknown), a delete
 * forgets it, a rename moves it (every digest under a folder, for a folder).
 */
public sealed interface DigestChange {

    /**
     * The object {@code key} was written whole: {@code sha256} (lower-case hex) of its
     * {@code size} bytes, or null when not known (an append), which forgets any digest kept.
     */
    record Stored(String key, long size, String sha256) implements DigestChange {
    }

    /** The object {@code key} is gone. */
    record Removed(String key) implements DigestChange {
    }

    /** The file or folder {@code from} is now {@code to}; a file at {@code to} was replaced. */
    record Moved(String from, String to, boolean folder) implements DigestChange {
    }
}
