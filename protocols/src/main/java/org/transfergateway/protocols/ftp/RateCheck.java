package org.transfergateway.protocols.ftp;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import org.transfergateway.config.LimitsConfig;

/**
 * limits.min-transfer-rate for one FTP or SFTP transfer: the average since it began, checked
 * as bytes pass once the grace period is over. A client that moves nothing at all meets the
 * data connection's (SFTP: the session's) idle timeout instead.
 */
public final class RateCheck {
    private final long minBytesPerSecond;
    private final long graceNanos;
    private final long started = System.nanoTime();
    private long bytes;
    private boolean tripped;

    public RateCheck(LimitsConfig limits) {
        this.minBytesPerSecond = limits.minTransferRate();
        this.graceNanos = limits.rateGrace().toNanos();
    }

    /** Counts {@code n} bytes; true when the transfer has become too slow. */
    public boolean tooSlow(long n) {
        bytes += n;
        if (minBytesPerSecond <= 0) {
            return false;
        }
        long elapsed = System.nanoTime() - started;
        return elapsed > graceNanos && bytes * 1_000_000_000L / elapsed < minBytesPerSecond;
    }

    public long minBytesPerSecond() {
        return minBytesPerSecond;
    }

    /** Whether a stream from {@link #paced} has been cut off for being too slow. */
    public boolean tripped() {
        return tripped;
    }

    /** A download read through this check: it fails once the client takes it too slowly. */
    public InputStream paced(InputStream in) {
        return new FilterInputStream(in) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = in.read(b, off, len);
                sent(n);
                return n;
            }
        };
    }

    /** Counts bytes of a download sent without {@link #paced} (sendfile); throws as its stream does. */
    public void sent(long n) throws IOException {
        if (n > 0 && tooSlow(n)) {
            tripped = true;
            throw new IOException("the client reads slower than " + minBytesPerSecond + " bytes/s");
        }
    }
}
