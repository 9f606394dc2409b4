package org.transfergateway.protocols.ftp.command;

import java.io.IOException;
import org.apache.ftpserver.command.AbstractCommand;
import org.apache.ftpserver.ftplet.FtpReply;
import org.apache.ftpserver.ftplet.FtpRequest;
import org.apache.ftpserver.impl.FtpIoSession;
import org.apache.ftpserver.impl.FtpServerContext;

/** DELE: removes a file; the stored totals shrink by its size. */
final class Dele extends AbstractCommand {
    @Override
    public void execute(FtpIoSession session, FtpServerContext context, FtpRequest request) throws IOException {
        session.resetState();
        if (!request.hasArgument()) {
            FtpCommands.reply(session, FtpReply.REPLY_501_SYNTAX_ERROR_IN_PARAMETERS_OR_ARGUMENTS, "DELE needs a file name");
            return;
        }
        SessionFiles sf = FtpCommands.sessionFiles(session);
        try {
            String path = sf.resolve(request.getArgument());
            sf.files().delete(path);
            FtpCommands.reply(session, FtpReply.REPLY_250_REQUESTED_FILE_ACTION_OKAY, "Deleted " + path);
        } catch (IOException | RuntimeException e) {
            FtpCommands.replyError(session, "DELE", e);
        }
    }
}
