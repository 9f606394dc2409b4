package org.transfergateway.storage;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Map;

/**
 * Modification times kept as object metadata, written and read the way rclone does on each
 * backend, so that objects rclone stored show their times here and the reverse:
 * <ul>
 *   <li>S3: user metadata {@code mtime} ({@code x-amz-meta-mtime}), seconds since the
 *       epoch with up to nine decimals ({@code 1700000000.123456789});</li>
 *   <li>Azure: blob metadata {@code mtime}, RFC 3339 with nine decimals
 *       ({@code 2023-11-14T22:13:20.123456789Z});</li>
 *   <li>GCS: object metadata {@code mtime}, RFC 3339 with up to nine decimals, and beside it
 *       {@code goog-reserved-file-mtime}, whole seconds, as gsutil keeps it (read when
 *       {@code mtime} is absent).</li>
 * </ul>
 * A value that does not parse is ignored: the backend's own last-modified time stands.
 */
public final class ModTimes {
    /** The S3 user-metadata key (sent as {@code x-amz-meta-mtime}). */
    public static final String S3_KEY = "mtime";
    /** The Azure blob-metadata key. */
    public static final String AZURE_KEY = "mtime";
    /** The GCS object-metadata key rclone writes first. */
    public static final String GCS_KEY = "mtime";
    /** The GCS object-metadata key of gsutil: whole seconds since the epoch. */
    public static final String GCS_GSUTIL_KEY = "goog-reserved-file-mtime";

    private static final DateTimeFormatter RFC3339_NANOS =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSSSSXXX").withZone(ZoneOffset.UTC);

    private ModTimes() {
    }

    /** {@code time} as seconds since the epoch with nine decimals (S3). */
    public static String formatSeconds(Instant time) {
        BigDecimal seconds = BigDecimal.valueOf(time.getEpochSecond()).add(BigDecimal.valueOf(time.getNano(), 9));
        return seconds.setScale(9).toPlainString();
    }

    /** Seconds since the epoch, with or without decimals; null when absent or unreadable. */
    public static Instant parseSeconds(String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            BigDecimal seconds = new BigDecimal(value.trim());
            BigDecimal whole = new BigDecimal(seconds.toBigInteger());
            if (seconds.signum() < 0 && whole.compareTo(seconds) != 0) {
                whole = whole.subtract(BigDecimal.ONE);
            }
            long nanos = seconds.subtract(whole).movePointRight(9).longValue();
            return Instant.ofEpochSecond(whole.longValueExact(), nanos);
        } catch (NumberFormatException | ArithmeticException | java.time.DateTimeException e) {
            return null;
        }
    }

    /** {@code time} in RFC 3339 with nine decimals, in UTC (Azure, GCS). */
    public static String formatRfc3339(Instant time) {
        return RFC3339_NANOS.format(time);
    }

    /** An RFC 3339 time with any number of decimals and any offset; null when absent or unreadable. */
    public static Instant parseRfc3339(String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return DateTimeFormatter.ISO_OFFSET_DATE_TIME.parse(value.trim(), Instant::from);
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    /** The kept time of a GCS object's metadata as rclone reads it, or null. */
    public static Instant fromGcs(Map<String, String> metadata) {
        if (metadata == null) {
            return null;
        }
        Instant time = parseRfc3339(metadata.get(GCS_KEY));
        if (time != null) {
            return time;
        }
        String seconds = metadata.get(GCS_GSUTIL_KEY);
        return seconds == null || !seconds.trim().matches("-?\\d+") ? null : parseSeconds(seconds);
    }
}
