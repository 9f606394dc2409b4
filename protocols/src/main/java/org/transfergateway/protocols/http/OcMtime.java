package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpHeaders;
import java.io.IOException;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ModTimes;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.UserFiles;

/**
 * The modification time an upload brings in {@code X-OC-Mtime} (seconds since the epoch,
 * decimals allowed), as ownCloud and Nextcloud take it on PUT and as rclone's webdav remote
 * sends it with {@code vendor = owncloud} or {@code nextcloud}. The file is committed with
 * that time where the upload can take it ({@link org.transfergateway.storage.Upload#commitWithModified}),
 * else the time is set right after the commit, before the answer, which says
 * {@code X-OC-MTime: accepted}; where the
 * storage keeps no times, or the time could not be set, that header is left out, which
 * tells such a client to set the time another way.
 */
final class OcMtime {
    private static final Logger log = LoggerFactory.getLogger(OcMtime.class);
    static final String REQUEST = "X-OC-Mtime";
    static final String RESPONSE = "X-OC-MTime";

    private OcMtime() {
    }

    /** The time the request brings, or null; BAD_REQUEST for a value that is not seconds since the epoch. */
    static Instant of(HttpHeaders headers) throws GatewayException {
        String value = headers.get(REQUEST);
        if (value == null) {
            return null;
        }
        Instant time = ModTimes.parseSeconds(value);
        if (time == null) {
            throw ErrorCode.BAD_REQUEST.exception(REQUEST + " must be seconds since 1970-01-01, not " + value.strip());
        }
        return time;
    }

    /**
     * Asks the upload to commit the file with {@code time} (when the request brought one),
     * so that it never shows another; true when it will. Called before the first byte.
     */
    static boolean atCommit(UserFiles files, UserFiles.Inbound upload, Instant time) {
        return time != null && files.keepsModified() && upload.commitWithModified(time);
    }

    /**
     * Marks the answer for a file committed with {@code time} ({@code atCommit}); else sets
     * {@code time} (when the request brought one) on the file just committed, for an upload
     * that could not take it (a pool, GCS), before the answer. The file as it is then. A
     * failure leaves the file stored with its upload's time: logged, and the header left out.
     */
    static ObjectInfo apply(UserFiles files, String path, Instant time, boolean atCommit, ObjectInfo committed,
                            HttpHeaders answer) {
        if (atCommit) {
            answer.set(RESPONSE, "accepted");
            return committed;
        }
        if (time == null || !files.keepsModified()) {
            return committed;
        }
        try {
            ObjectInfo now = files.setModified(path, time);
            answer.set(RESPONSE, "accepted");
            return now;
        } catch (IOException e) {
            log.warn("{} {}: stored, but the time of {} could not be set: {}", files.user(), path, REQUEST, e.getMessage());
            return committed;
        }
    }
}
