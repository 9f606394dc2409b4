package org.transfergateway.gateway;

/**
 * How far a pool's copies lag behind its uploads.
 *
 * @param pending       copies still to be made
 * @param pendingBytes  the bytes of those copies
 * @param oldestSeconds how long the oldest of them has waited; 0 when none waits
 */
record ReplicationLag(long pending, long pendingBytes, long oldestSeconds) {
    static final ReplicationLag NONE = new ReplicationLag(0, 0, 0);
}
