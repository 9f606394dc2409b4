package org.transfergateway.protocols.ftp.command;

import java.io.IOException;
import org.apache.ftpserver.command.AbstractCommand;
import org.apache.ftpserver.ftplet.FtpFile;
import org.apache.ftpserver.ftplet.FtpReply;
import org.apache.ftpserver.ftplet.FtpRequest;
import org.apache.ftpserver.impl.FtpIoSession;
import org.apache.ftpserver.impl.FtpServerContext;

/** RNTO: completes the rename that MINA's RNFR started. */
final class Rnto extends AbstractCommand {
    @Override
    public void execute(FtpIoSession session, FtpServerContext context, FtpRequest request) throws IOException {
        FtpFile from = session.getRenameFrom();
        session.resetState();
        if (from == null) {
            FtpCommands.reply(session, FtpReply.REPLY_503_BAD_SEQUENCE_OF_COMMANDS, "RNFR must come first");
            return;
        }
        if (!request.hasArgument()) {
            FtpCommands.reply(session, FtpReply.REPLY_501_SYNTAX_ERROR_IN_PARAMETERS_OR_ARGUMENTS, "RNTO needs a file name");
            return;
        }
        SessionFiles sf = FtpCommands.sessionFiles(session);
        String to = request.getArgument();
        try {
            to = sf.resolve(request.getArgument());
            sf.files().move(from.getAbsolutePath(), to);
            FtpCommands.reply(session, FtpReply.REPLY_250_REQUESTED_FILE_ACTION_OKAY, "Renamed " + from.getAbsolutePath() + " to " + to);
        } catch (IOException | RuntimeException e) {
            FtpCommands.replyError(session, "RNTO", from.getAbsolutePath() + " -> " + to, e);
        }
    }
}
