package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpContent;

/**
 * Takes the body of one request on the event loop. Reading is on demand: the connection
 * asks for more only while {@link #wantsRead()} is true.
 */
interface BodyConsumer {

    /** Takes ownership of {@code content}: it must be released. */
    void content(HttpContent content);

    /** True when this consumer is ready for more of the body. */
    boolean wantsRead();

    /**
     * True while storage works on what it was handed: the connection is then idle because
     * of the backend, not the client, and must not be closed for it.
     */
    boolean busy();

    /** The connection closed before the exchange finished. */
    void closed();
}
