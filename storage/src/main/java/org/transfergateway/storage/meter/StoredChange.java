package org.transfergateway.storage.meter;

/**
 * A change of what a backend holds for a user: an upload adds its size and one object,
 * an overwrite adds the difference only, a delete subtracts.
 */
public record StoredChange(String backend, String user, long bytes, long objects) {
    public static StoredChange none(String backend, String user) {
        return new StoredChange(backend, user, 0, 0);
    }

    public boolean isEmpty() {
        return bytes == 0 && objects == 0;
    }
}
