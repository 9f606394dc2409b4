package org.transfergateway.protocols.ftp.command;

import org.apache.ftpserver.command.AbstractCommand;
import org.apache.ftpserver.ftplet.DefaultFtpReply;
import org.apache.ftpserver.ftplet.FtpReply;
import org.apache.ftpserver.ftplet.FtpRequest;
import org.apache.ftpserver.impl.FtpIoSession;
import org.apache.ftpserver.impl.FtpServerContext;

/**
 * FEAT and MODE. MINA's FEAT lists what this server does not offer (AUTH TLS without a
 * certificate, MODE Z, LANG, MD5); clients that believe it pick a feature and fail, or,
 * with MODE Z (lftp does by default), deflate every byte on both ends: a cost of CPU per
 * byte for data that is mostly compressed already, and a path that skips the 64 KiB data
 * loop. So FEAT lists what works, and MODE takes only S (stream), as the contract says.
 * HASH is listed with the session's algorithm starred ({@link Hash}).
 */
final class Features {
    private Features() {
    }

    static AbstractCommand feat(boolean explicitTls) {
        String list = "Extensions supported\n SIZE\n MDTM\n REST STREAM\n MLST Size;Modify;Type;Perm\n UTF8\n TVFS\n EPRT\n EPSV\n"
                + (explicitTls ? " AUTH TLS\n PBSZ\n PROT\n" : "") + "End";
        return new AbstractCommand() {
            @Override
            public void execute(FtpIoSession session, FtpServerContext context, FtpRequest request) {
                session.resetState();
                String features = withMfmt(session, list);
                int end = features.lastIndexOf("End");
                features = features.substring(0, end) + " " + Hash.featLine(session) + "\n" + features.substring(end);
                session.write(new DefaultFtpReply(FtpReply.REPLY_211_SYSTEM_STATUS_REPLY, features));
            }
        };
    }

    /**
     * MFMT is offered unless the logged-in user's backend cannot keep modification times
     * (then a copying client compares sizes only instead of failing on every file).
     * Before login the user is not known: MFMT is offered, and answers 502 where it cannot work.
     */
    private static String withMfmt(FtpIoSession session, String list) {
        if (session.getFileSystemView() instanceof SessionFiles sf && !sf.files().keepsModified()) {
            return list;
        }
        int end = list.lastIndexOf("End");
        return list.substring(0, end) + " MFMT\n" + list.substring(end);
    }

    static AbstractCommand mode() {
        return new AbstractCommand() {
            @Override
            public void execute(FtpIoSession session, FtpServerContext context, FtpRequest request) {
                session.resetState();
                String arg = request.getArgument();
                if (arg == null || arg.isBlank()) {
                    FtpCommands.reply(session, FtpReply.REPLY_501_SYNTAX_ERROR_IN_PARAMETERS_OR_ARGUMENTS, "MODE needs a mode: S");
                } else if (arg.trim().equalsIgnoreCase("S")) {
                    session.getDataConnection().setZipMode(false);
                    FtpCommands.reply(session, FtpReply.REPLY_200_COMMAND_OKAY, "Mode set to S");
                } else {
                    FtpCommands.reply(session, FtpReply.REPLY_504_COMMAND_NOT_IMPLEMENTED_FOR_THAT_PARAMETER,
                            "Only MODE S (stream) is offered");
                }
            }
        };
    }
}
