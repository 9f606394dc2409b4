package org.transfergateway.storage.s3;

import java.io.FilterInputStream;
import java.io.IOException;
import software.amazon.awssdk.core.ResponseInputStream;

/**
 * The body of a GetObject that, when closed before its end, aborts the HTTP request
 * instead of letting the SDK drain the rest of the object: a client that stops after
 * the first megabyte of a gigabyte must not make the gateway read the other 1023.
 */
final class AbortingInputStream extends FilterInputStream {
    private final ResponseInputStream<?> response;
    private boolean ended;

    AbortingInputStream(ResponseInputStream<?> response) {
        super(response);
        this.response = response;
    }

    @Override
    public int read() throws IOException {
        int b = super.read();
        if (b < 0) {
            ended = true;
        }
        return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        if (n < 0) {
            ended = true;
        }
        return n;
    }

    @Override
    public boolean markSupported() {
        return false;
    }

    @Override
    public void close() throws IOException {
        if (!ended) {
            response.abort();
        }
        response.close();
    }
}
