package org.transfergateway.storage;

import java.nio.channels.FileChannel;

/**
 * A read stream that is a region of a local file, so that a front end may hand the region
 * to the kernel (sendfile) instead of reading it. Whoever does that reads nothing through
 * the stream, reports the bytes it sent ({@link UserFiles.Outbound#sentDirectly}), and
 * still closes the stream.
 */
public interface FileBacked {
    /** The open file; valid until the stream is closed. */
    FileChannel channel();

    /** Where the stream's next byte lies in the file. */
    long position();

    /** The bytes from {@link #position()} to the end of the stream. */
    long remaining();
}
