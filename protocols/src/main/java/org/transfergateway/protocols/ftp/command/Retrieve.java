package org.transfergateway.protocols.ftp.command;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.channels.SocketChannel;
import org.apache.ftpserver.command.AbstractCommand;
import org.apache.ftpserver.command.Command;
import org.apache.ftpserver.command.impl.RETR;
import org.apache.ftpserver.ftplet.DataConnection;
import org.apache.ftpserver.ftplet.DataType;
import org.apache.ftpserver.ftplet.FtpException;
import org.apache.ftpserver.ftplet.FtpReply;
import org.apache.ftpserver.ftplet.FtpRequest;
import org.apache.ftpserver.impl.FtpIoSession;
import org.apache.ftpserver.impl.FtpServerContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.LimitsConfig;
import org.transfergateway.protocols.ftp.RateCheck;
import org.transfergateway.storage.FileBacked;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.UserFiles;

/**
 * RETR of a binary file: a local file goes out with sendfile where the data socket has
 * a channel, anything else in {@link DataSocket#CHUNK} pieces; counted as complete only
 * when every byte went out and the client then closed the data connection, not when it
 * reset it or sent ABOR ({@link AbortWatch}). ASCII and MODE Z downloads, whose bytes
 * MINA converts on the way, go to MINA's own RETR (which reads the same counted stream
 * through the gateway's file system).
 */
final class Retrieve extends AbstractCommand {
    private static final Logger log = LoggerFactory.getLogger(Retrieve.class);

    /**
     * How long a download waits after its last byte for the client to close the data
     * connection ({@link DataSocket#deliveredToEnd}); clients close as soon as they read
     * the end, so this is reached only by one that keeps it open.
     */
    private static final long DELIVERY_WAIT_MILLIS = 5_000;

    private final Command converting = new RETR();
    private final LimitsConfig limits;

    Retrieve(LimitsConfig limits) {
        this.limits = limits;
    }

    @Override
    public void execute(FtpIoSession session, FtpServerContext context, FtpRequest request) throws IOException, FtpException {
        if (session.getDataType() != DataType.BINARY || session.getDataConnection().isZipMode()) {
            converting.execute(session, context, request);
            return;
        }
        FtpCommands.withDataConnection(session, () -> run(session, request));
    }

    private void run(FtpIoSession session, FtpRequest request) throws IOException {
        String arg = request.getArgument();
        if (arg == null || arg.isEmpty()) {
            FtpCommands.reply(session, FtpReply.REPLY_501_SYNTAX_ERROR_IN_PARAMETERS_OR_ARGUMENTS, "RETR needs a file name");
            return;
        }
        if (!FtpCommands.dataConnectionPrepared(session)) {
            return;
        }
        UserFiles.Outbound out;
        String path;
        try {
            path = FtpCommands.sessionFiles(session).resolve(arg);
            out = FtpCommands.sessionFiles(session).files().download(path, session.getFileOffset(), -1);
        } catch (IOException | RuntimeException e) {
            FtpCommands.replyError(session, "RETR", arg, e);
            return;
        }
        String name = path.substring(path.lastIndexOf('/') + 1);
        try (out) {
            FtpCommands.reply(session, FtpReply.REPLY_150_FILE_STATUS_OKAY,
                    "Opening data connection for " + name + " (" + out.length() + " bytes)");
            DataConnection data;
            try {
                data = session.getDataConnection().openConnection();
            } catch (Exception e) {
                out.abandon();
                FtpCommands.reply(session, FtpReply.REPLY_425_CANT_OPEN_DATA_CONNECTION, "Cannot open the data connection: " + e.getMessage());
                return;
            }
            RateCheck rate = new RateCheck(limits);
            InputStream source = rate.paced(out);
            long sent;
            Socket socket = DataSocket.of(session, data);
            AbortWatch.Running running = AbortWatch.start(session, socket);
            try {
                SocketChannel channel = DataSocket.channelOf(socket);
                FileBacked file = out.file();
                if (channel != null && file != null) {
                    sent = DataSocket.sendFile(session, socket, channel, file, n -> {
                        out.sentDirectly(n);
                        rate.sent(n);
                    });
                } else if (socket != null) {
                    sent = DataSocket.send(session, socket, source);
                } else {
                    sent = data.transferToClient(session.getFtpletSession(), source);
                }
            } catch (IOException e) {
                running.close();
                session.getDataConnection().closeDataConnection(); // first, as MINA's loop does
                out.abandon();
                out.close(); // counted before the reply, so that totals agree with what the client saw
                if (running.aborted()) {
                    FtpCommands.reply(session, FtpReply.REPLY_426_CONNECTION_CLOSED_TRANSFER_ABORTED, "Transfer aborted by ABOR");
                } else if (rate.tripped()) {
                    log.info("RETR {}: dropped, slower than {} bytes/s", path, limits.minTransferRate());
                    FtpCommands.reply(session, FtpReply.REPLY_426_CONNECTION_CLOSED_TRANSFER_ABORTED,
                            "Transfer slower than the minimum of " + limits.minTransferRate() + " bytes/s; aborted");
                } else if (e instanceof GatewayException g) {
                    FtpCommands.replyError(session, "RETR", path, g);
                } else if (e instanceof SocketException) {
                    FtpCommands.reply(session, FtpReply.REPLY_426_CONNECTION_CLOSED_TRANSFER_ABORTED, "Connection closed; transfer aborted");
                } else {
                    log.warn("RETR {}: reading failed: {}", path, FtpCommands.detail(e));
                    FtpCommands.reply(session, FtpReply.REPLY_551_REQUESTED_ACTION_ABORTED_PAGE_TYPE_UNKNOWN,
                            "Reading " + path + " failed");
                }
                return;
            }
            // Every byte is in the network's hands, not yet surely in the client's: a client
            // that gives up now (curl -r closes after the bytes it wants, then sends ABOR)
            // resets the data connection instead of closing it.
            boolean delivered = socket == null || DataSocket.deliveredToEnd(socket, DELIVERY_WAIT_MILLIS);
            running.close();
            if (!delivered || running.aborted()) {
                session.getDataConnection().closeDataConnection();
                out.abandon();
                out.close();
                FtpCommands.reply(session, FtpReply.REPLY_426_CONNECTION_CLOSED_TRANSFER_ABORTED, running.aborted()
                        ? "Transfer aborted by ABOR" : "The client closed the data connection before the end; transfer aborted");
                return;
            }
            try {
                out.close();
            } catch (IOException e) {
                log.debug("RETR {}: closing the source after the last byte failed: {}", path, e.toString());
            }
            FtpCommands.reply(session, FtpReply.REPLY_226_CLOSING_DATA_CONNECTION, "Transfer complete: " + sent + " bytes sent");
        }
    }
}
