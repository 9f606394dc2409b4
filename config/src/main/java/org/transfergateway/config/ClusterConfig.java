package org.transfergateway.config;

/**
 * What sets this gateway apart from the others that share its ledger.
 *
 * @param nodeId the name under which this gateway records its transfers: after a crash
 *               it recovers only those, never another gateway's (default: the host name)
 */
public record ClusterConfig(String nodeId) {
}
