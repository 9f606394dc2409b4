package org.transfergateway.protocols.http;

import java.io.IOException;

/** Starts a streamed upload for a request: called on the blocking pool after authentication. */
interface UploadHandler {
    UploadTarget open(Exchange exchange) throws IOException;
}
