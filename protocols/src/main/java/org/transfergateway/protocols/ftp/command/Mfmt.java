package org.transfergateway.protocols.ftp.command;

import java.io.IOException;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.ResolverStyle;
import java.time.temporal.ChronoField;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.ftpserver.command.AbstractCommand;
import org.apache.ftpserver.ftplet.FtpReply;
import org.apache.ftpserver.ftplet.FtpRequest;
import org.apache.ftpserver.impl.FtpIoSession;
import org.apache.ftpserver.impl.FtpServerContext;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.UserFiles;

/**
 * MFMT (draft-somers-ftp-mfxx): {@code MFMT yyyyMMddHHmmss[.sss] path} sets a file's
 * modification time, in UTC, and answers {@code 213 Modify=<time as stored>; path}.
 * Copying clients (rclone) use it to keep the times of the files they upload, and
 * compare by time afterwards. Where the user's backend cannot keep a time that its
 * listings then show (S3: LastModified is the upload's time), the answer is 502 and
 * FEAT does not offer MFMT to that user.
 */
final class Mfmt extends AbstractCommand {
    private static final Pattern ARGUMENT = Pattern.compile("(\\d{14}(?:\\.\\d{1,3})?) (.+)", Pattern.DOTALL);
    private static final DateTimeFormatter TIME = new DateTimeFormatterBuilder()
            .appendPattern("uuuuMMddHHmmss")
            .optionalStart().appendFraction(ChronoField.MILLI_OF_SECOND, 1, 3, true).optionalEnd()
            .toFormatter().withResolverStyle(ResolverStyle.STRICT);
    private static final DateTimeFormatter SECONDS = DateTimeFormatter.ofPattern("uuuuMMddHHmmss").withZone(ZoneOffset.UTC);

    @Override
    public void execute(FtpIoSession session, FtpServerContext context, FtpRequest request) throws IOException {
        session.resetState();
        Matcher m = ARGUMENT.matcher(request.hasArgument() ? request.getArgument() : "");
        if (!m.matches()) {
            FtpCommands.reply(session, FtpReply.REPLY_501_SYNTAX_ERROR_IN_PARAMETERS_OR_ARGUMENTS,
                    "MFMT needs a time and a file name: MFMT YYYYMMDDHHMMSS path");
            return;
        }
        Instant time;
        try {
            time = LocalDateTime.parse(m.group(1), TIME).toInstant(ZoneOffset.UTC);
        } catch (DateTimeException e) {
            FtpCommands.reply(session, FtpReply.REPLY_501_SYNTAX_ERROR_IN_PARAMETERS_OR_ARGUMENTS,
                    "MFMT: " + m.group(1) + " is not a valid time (YYYYMMDDHHMMSS, UTC)");
            return;
        }
        String name = m.group(2);
        SessionFiles sf = FtpCommands.sessionFiles(session);
        UserFiles files = sf.files();
        if (!files.keepsModified()) {
            FtpCommands.reply(session, FtpReply.REPLY_502_COMMAND_NOT_IMPLEMENTED,
                    "MFMT: modification times cannot be set on this storage");
            return;
        }
        try {
            ObjectInfo now = files.setModified(sf.resolve(name), time);
            FtpCommands.reply(session, FtpReply.REPLY_213_FILE_STATUS, "Modify=" + format(now.modified()) + "; " + name);
        } catch (IOException | RuntimeException e) {
            FtpCommands.replyError(session, "MFMT", name, e);
        }
    }

    /** As MLSD and MDTM show it: seconds, and milliseconds when there are any. */
    static String format(Instant time) {
        String s = SECONDS.format(time);
        int millis = time.get(ChronoField.MILLI_OF_SECOND);
        return millis == 0 ? s : s + String.format(".%03d", millis);
    }
}
