package org.transfergateway.storage.local;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import org.transfergateway.storage.FileBacked;

/**
 * {@code [offset, offset + length)} of an open file, read with positional reads; also
 * offered as a region for zero-copy sending. Closing it closes the file.
 */
final class FileStream extends InputStream implements FileBacked {
    private final FileChannel channel;
    private final long end;
    private long position;

    /** {@code length < 0} reads to the end of the file as it is now. */
    FileStream(FileChannel channel, long offset, long length) throws IOException {
        this.channel = channel;
        this.position = offset;
        this.end = length < 0 ? Math.max(offset, channel.size()) : offset + length;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        if (position >= end) {
            return -1;
        }
        int n = channel.read(ByteBuffer.wrap(b, off, (int) Math.min(len, end - position)), position);
        if (n < 0) {
            return -1; // the file shrank under the reader
        }
        position += n;
        return n;
    }

    @Override
    public long skip(long n) {
        long skipped = Math.max(0, Math.min(n, end - position));
        position += skipped;
        return skipped;
    }

    @Override
    public int available() {
        return (int) Math.min(Integer.MAX_VALUE, end - position);
    }

    @Override
    public FileChannel channel() {
        return channel;
    }

    @Override
    public long position() {
        return position;
    }

    @Override
    public long remaining() {
        return end - position;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
