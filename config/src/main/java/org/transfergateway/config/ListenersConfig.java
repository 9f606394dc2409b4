package org.transfergateway.config;

/**
 * What all listeners share. Behind a load balancer the peer of every connection is the
 * balancer; with the PROXY protocol the balancer names the real client in a header it
 * sends first, and the gateway takes the client address from that header.
 *
 * @param proxyProtocol true: every connection (HTTP, FTP control, SFTP) must start with a
 *                      PROXY v1 or v2 header, and one without a valid header is closed
 */
public record ListenersConfig(boolean proxyProtocol) {
    public static final ListenersConfig DEFAULTS = new ListenersConfig(false);
}
