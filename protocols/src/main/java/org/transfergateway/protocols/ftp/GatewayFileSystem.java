package org.transfergateway.protocols.ftp;

import java.io.IOException;
import org.apache.ftpserver.ftplet.FileSystemFactory;
import org.apache.ftpserver.ftplet.FileSystemView;
import org.apache.ftpserver.ftplet.FtpException;
import org.apache.ftpserver.ftplet.FtpFile;
import org.apache.ftpserver.ftplet.User;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.LimitsConfig;
import org.transfergateway.config.UserConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.protocols.ftp.command.SessionFiles;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.StoragePaths;
import org.transfergateway.storage.UserFiles;
import org.transfergateway.storage.meter.Protocol;

/**
 * MINA FtpServer's view of a logged-in user's files: the user's {@link UserFiles} and a
 * working folder. "/" is the user's home; paths are normalised by {@link StoragePaths},
 * so nothing a client sends reaches outside the home.
 */
final class GatewayFileSystem implements FileSystemView, SessionFiles {
    private static final Logger log = LoggerFactory.getLogger(GatewayFileSystem.class);

    private final UserFiles files;
    private final LimitsConfig limits;
    private String cwd = "/";

    GatewayFileSystem(UserFiles files, LimitsConfig limits) {
        this.files = files;
        this.limits = limits;
    }

    /** Opens the view of whoever logged in; the user was checked by {@link GatewayUserManager}. */
    static FileSystemFactory factory(Accounts accounts, LimitsConfig limits) {
        return (User user) -> {
            UserConfig u = accounts.user(user.getName())
                    .orElseThrow(() -> new FtpException("unknown user " + user.getName()));
            return new GatewayFileSystem(accounts.files(u, FtpFrontEnd.PROTOCOL), limits);
        };
    }

    @Override
    public UserFiles files() {
        return files;
    }

    /** The normalised user path of {@code name} relative to the working folder. */
    @Override
    public String resolve(String name) throws GatewayException {
        return StoragePaths.normalize(cwd, name);
    }

    String workingPath() {
        return cwd;
    }

    @Override
    public FtpFile getHomeDirectory() {
        return new GatewayFtpFile(files, limits, "/");
    }

    @Override
    public FtpFile getWorkingDirectory() {
        return new GatewayFtpFile(files, limits, cwd);
    }

    @Override
    public boolean changeWorkingDirectory(String dir) {
        try {
            String target = resolve(dir);
            ObjectInfo info = files.stat(target);
            if (info == null || !info.folder()) {
                return false;
            }
            cwd = target;
            return true;
        } catch (IOException e) {
            log.debug("CWD {} refused: {}", dir, e.getMessage());
            return false;
        }
    }

    @Override
    public FtpFile getFile(String name) throws FtpException {
        try {
            return new GatewayFtpFile(files, limits, resolve(name));
        } catch (GatewayException e) {
            throw new FtpException(e.getMessage(), e);
        }
    }

    @Override
    public boolean isRandomAccessible() {
        return true;
    }

    @Override
    public void dispose() {
        // nothing held
    }
}
