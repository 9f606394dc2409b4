package org.transfergateway.protocols.ftp.command;

import org.apache.ftpserver.command.AbstractCommand;
import org.apache.ftpserver.ftplet.FtpReply;
import org.apache.ftpserver.ftplet.FtpRequest;
import org.apache.ftpserver.impl.FtpIoSession;
import org.apache.ftpserver.impl.FtpServerContext;

/**
 * ALLO n (RFC 959): the client announces the size of the file it will send next. In
 * stream mode that is the only way to tell a finished upload from a cut-off one by the
 * data alone, so the next STOR, APPE or STOU that ends with fewer bytes aborts
 * ({@link Store}). The size counts from the start of the file: a resumed upload's kept
 * bytes count toward it. The record size of {@code ALLO n R m} is ignored.
 */
final class Allo extends AbstractCommand {
    private static final String ANNOUNCED = "gateway.allo";

    @Override
    public void execute(FtpIoSession session, FtpServerContext context, FtpRequest request) {
        session.resetState();
        String arg = request.getArgument() == null ? "" : request.getArgument().trim();
        String size = arg.split("\\s+", 2)[0];
        long n;
        try {
            n = Long.parseLong(size);
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n < 0 || !size.chars().allMatch(Character::isDigit)) {
            session.removeAttribute(ANNOUNCED);
            FtpCommands.reply(session, FtpReply.REPLY_501_SYNTAX_ERROR_IN_PARAMETERS_OR_ARGUMENTS, "ALLO needs a size in bytes");
            return;
        }
        session.setAttribute(ANNOUNCED, n);
        FtpCommands.reply(session, FtpReply.REPLY_200_COMMAND_OKAY, "ALLO " + n + " bytes noted; a shorter upload will not be stored");
    }

    /** The size announced for the upload that starts now, or -1; the announcement is used up. */
    static long take(FtpIoSession session) {
        return session.removeAttribute(ANNOUNCED) instanceof Long n ? n : -1;
    }
}
