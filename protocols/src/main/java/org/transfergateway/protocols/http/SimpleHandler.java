package org.transfergateway.protocols.http;

/**
 * Answers a request that has no body worth reading. Runs on the blocking pool once the
 * request has ended; any exception becomes the error response.
 */
interface SimpleHandler {
    void handle(Exchange exchange) throws Exception;
}
