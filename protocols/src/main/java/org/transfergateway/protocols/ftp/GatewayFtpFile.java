package org.transfergateway.protocols.ftp;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.ftpserver.ftplet.FtpFile;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.LimitsConfig;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.UserFiles;

/**
 * A file or folder as MINA FtpServer's listing, RETR, SIZE, MDTM and RNFR see it. The
 * backend is asked once, on first use; listings hand their entries in already known.
 *
 * <p>Writes, deletes and renames do not come through here: the gateway's own commands
 * (package {@code command}) do them, so that the real cause reaches the client instead
 * of MINA's bare {@code false}.
 */
final class GatewayFtpFile implements FtpFile {
    private static final Logger log = LoggerFactory.getLogger(GatewayFtpFile.class);

    private final UserFiles files;
    private final LimitsConfig limits;
    private final String path;
    private ObjectInfo info;
    private boolean known;

    GatewayFtpFile(UserFiles files, LimitsConfig limits, String path) {
        this.files = files;
        this.limits = limits;
        this.path = path;
    }

    private GatewayFtpFile(UserFiles files, LimitsConfig limits, String path, ObjectInfo info) {
        this(files, limits, path);
        this.info = info;
        this.known = true;
    }

    private ObjectInfo info() {
        if (!known) {
            try {
                info = files.stat(path);
            } catch (IOException e) {
                // MINA's FtpFile cannot throw here; the command will answer "not found".
                log.warn("stat {} failed: {}", path, e.getMessage());
                info = null;
            }
            known = true;
        }
        return info;
    }

    @Override
    public String getAbsolutePath() {
        return path;
    }

    @Override
    public String getName() {
        return path.equals("/") ? "/" : path.substring(path.lastIndexOf('/') + 1);
    }

    @Override
    public boolean isHidden() {
        return false;
    }

    @Override
    public boolean isDirectory() {
        return info() != null && info.folder();
    }

    @Override
    public boolean isFile() {
        return info() != null && !info.folder();
    }

    @Override
    public boolean doesExist() {
        return info() != null;
    }

    /** MINA's RETR answers 550 when this is false: the user's policy decides. */
    @Override
    public boolean isReadable() {
        return files.policy().read();
    }

    @Override
    public boolean isWritable() {
        return files.policy().write();
    }

    @Override
    public boolean isRemovable() {
        return !path.equals("/") && files.policy().delete();
    }

    @Override
    public String getOwnerName() {
        return files.user();
    }

    @Override
    public String getGroupName() {
        return files.user();
    }

    @Override
    public int getLinkCount() {
        return isDirectory() ? 2 : 1;
    }

    @Override
    public long getLastModified() {
        return info() == null ? 0 : info.modified().toEpochMilli();
    }

    @Override
    public boolean setLastModified(long time) {
        return false;
    }

    @Override
    public long getSize() {
        return info() == null ? 0 : info.size();
    }

    @Override
    public Object getPhysicalFile() {
        return null;
    }

    @Override
    public boolean mkdir() {
        return false;
    }

    @Override
    public boolean delete() {
        return false;
    }

    @Override
    public boolean move(FtpFile destination) {
        return false;
    }

    @Override
    public List<? extends FtpFile> listFiles() {
        try {
            List<GatewayFtpFile> out = new ArrayList<>();
            String prefix = path.equals("/") ? "/" : path + "/";
            for (ObjectInfo child : files.list(path)) {
                out.add(new GatewayFtpFile(files, limits, prefix + child.name(), child));
            }
            return out;
        } catch (IOException e) {
            // MINA's lister cannot take a checked exception: it answers 451 on this.
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public OutputStream createOutputStream(long offset) throws IOException {
        throw ErrorCode.INTERNAL.exception("uploads go through the gateway's STOR command");
    }

    /** The download, dropped when the client reads slower than limits.min-transfer-rate. */
    @Override
    public InputStream createInputStream(long offset) throws IOException {
        return new RateCheck(limits).paced(files.download(path, offset, -1));
    }
}
