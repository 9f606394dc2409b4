package org.transfergateway.protocols.ftp.command;

import java.io.IOException;
import java.util.Map;
import org.apache.ftpserver.command.Command;
import org.apache.ftpserver.ftplet.DefaultFtpReply;
import org.apache.ftpserver.ftplet.FileSystemView;
import org.apache.ftpserver.ftplet.FtpReply;
import org.apache.ftpserver.impl.FtpIoSession;
import org.apache.ftpserver.impl.IODataConnectionFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.DigestAlgorithm;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;

/**
 * The commands the gateway answers itself instead of MINA FtpServer: those that write,
 * delete or rename, because MINA's versions leave partial files behind and turn every
 * storage failure into a bare {@code false}; RETR, whose copy loop MINA runs 4 KiB at a
 * time; FEAT and MODE, so that only what works is offered ({@link Features}); MLSD and
 * MFMT as copying clients need them ({@link Mlsd}, {@link Mfmt}); ALLO, which upload
 * checks hold a file to ({@link Allo}); HASH, OPTS HASH and the X digests ({@link Hash}). Also the one place that renders an
 * {@link ErrorCode} as an FTP reply.
 */
public final class FtpCommands {
    private static final Logger log = LoggerFactory.getLogger(FtpCommands.class);

    private FtpCommands() {
    }

    /**
     * The commands by name, for MINA's {@code CommandFactoryFactory}.
     *
     * @param explicitTls whether AUTH TLS is offered (FEAT lists it then)
     */
    public static Map<String, Command> all(org.transfergateway.config.LimitsConfig limits, boolean explicitTls) {
        return Map.ofEntries(
                Map.entry("FEAT", Features.feat(explicitTls)),
                Map.entry("MODE", Features.mode()),
                Map.entry("ALLO", new Allo()),
                Map.entry("STOR", new Store(Store.Mode.STOR, limits)),
                Map.entry("APPE", new Store(Store.Mode.APPE, limits)),
                Map.entry("STOU", new Store(Store.Mode.STOU, limits)),
                Map.entry("RETR", new Retrieve(limits)),
                Map.entry("DELE", PathCommand.dele()),
                Map.entry("MKD", PathCommand.mkd()),
                Map.entry("RMD", PathCommand.rmd()),
                Map.entry("RNTO", new Rnto()),
                Map.entry("MLSD", new Mlsd()),
                Map.entry("MFMT", new Mfmt()),
                Map.entry("OPTS", Hash.opts()),
                Map.entry("HASH", Hash.hash()),
                // MINA takes the X off a command name of more than three letters (XMKD is MKD).
                Map.entry("SHA256", Hash.legacy("XSHA256", DigestAlgorithm.SHA_256)),
                Map.entry("SHA1", Hash.legacy("XSHA1", DigestAlgorithm.SHA_1)),
                Map.entry("MD5", Hash.legacy("XMD5", DigestAlgorithm.MD5)),
                Map.entry("CRC", Hash.legacy("XCRC", DigestAlgorithm.CRC32)));
    }

    /** Like {@link #replyError(FtpIoSession, String, String, Throwable)} where no user path applies. */
    static void replyError(FtpIoSession session, String command, Throwable failure) {
        replyError(session, command, null, failure);
    }

    /**
     * Answers with the reply code of the failure's {@link ErrorCode}, naming the user's own
     * {@code path} and a reason; what a storage failure says of the server (its paths,
     * backends, keys, exception texts) goes to the log only.
     */
    static void replyError(FtpIoSession session, String command, String path, Throwable failure) {
        ErrorCode code = GatewayException.codeOf(failure);
        if (GatewayException.serverSide(failure)) {
            log.warn("{} {} failed for {}: {}", command, path == null ? "" : path,
                    session.getUser() == null ? "?" : session.getUser().getName(), detail(failure));
        }
        session.write(new DefaultFtpReply(code.ftpReply(), command + ": " + oneLine(GatewayException.describe(failure, path))));
    }

    /** The failure and its causes, for the log. */
    static String detail(Throwable failure) {
        StringBuilder b = new StringBuilder(failure.toString());
        for (Throwable c = failure.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            b.append("; caused by ").append(c);
        }
        return b.toString();
    }

    static void reply(FtpIoSession session, int code, String message) {
        session.write(new DefaultFtpReply(code, oneLine(message)));
    }

    /** A reply line must not be split by a name that holds CR or LF. */
    static String oneLine(String s) {
        return s == null ? "" : s.replace('\r', ' ').replace('\n', ' ');
    }

    /**
     * False, with a 503 answered, when no PORT, EPRT, PASV or EPSV came before a command
     * that needs a data connection.
     */
    static boolean dataConnectionPrepared(FtpIoSession session) {
        if (session.getDataConnection() instanceof IODataConnectionFactory f && f.getInetAddress() == null) {
            reply(session, FtpReply.REPLY_503_BAD_SEQUENCE_OF_COMMANDS, "PORT, EPRT, PASV or EPSV must come first");
            return false;
        }
        return true;
    }

    /** Runs a command that uses the data connection, and always closes that after it. */
    static void withDataConnection(FtpIoSession session, DataCommand command) throws IOException {
        try {
            command.run();
        } finally {
            session.resetState();
            session.getDataConnection().closeDataConnection();
        }
    }

    interface DataCommand {
        void run() throws IOException;
    }

    /** The gateway's view of a logged-in session's files. */
    static SessionFiles sessionFiles(FtpIoSession session) throws IOException {
        FileSystemView view = session.getFileSystemView();
        if (view instanceof SessionFiles sf) {
            return sf;
        }
        throw new IOException("the session has no gateway file system");
    }
}
