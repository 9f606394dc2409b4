package org.transfergateway.protocols.sftp;

import java.io.IOException;
import java.nio.channels.Channel;
import java.nio.channels.FileLock;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.util.Collection;
import java.util.Set;
import org.apache.sshd.sftp.common.SftpConstants;
import org.apache.sshd.sftp.common.SftpException;
import org.apache.sshd.sftp.server.DefaultGroupPrincipal;
import org.apache.sshd.sftp.server.DefaultUserPrincipal;
import org.apache.sshd.sftp.server.DirectoryHandle;
import org.apache.sshd.sftp.server.FileHandle;
import org.apache.sshd.sftp.server.SftpEventListener;
import org.apache.sshd.sftp.server.SftpSubsystemProxy;
import org.apache.sshd.server.session.ServerSession;
import org.apache.sshd.sftp.server.Handle;

/**
 * How the SFTP subsystem opens and changes files on a {@link UserFileSystem}: a handle for
 * reading is a {@link DownloadChannel}, one for writing an {@link UploadChannel}. Of the
 * attributes a client may set, the modification time is kept; mode and owner are accepted
 * and ignored (every file is a plain 0644 file of the user's own), as {@code put -p} needs.
 */
final class GatewayFileAccessor implements org.apache.sshd.sftp.server.SftpFileSystemAccessor {

    /** Marks a handle closed by SSH_FXP_CLOSE, before the subsystem closes it. */
    static final SftpEventListener CLOSE_WATCH = new SftpEventListener() {
        @Override
        public void closing(ServerSession session, String remoteHandle, Handle localHandle) {
            if (localHandle instanceof FileHandle f && f.getFileChannel() instanceof HandleChannel c) {
                c.closedByClient();
            }
        }
    };

    /**
     * Every path a client names goes through the one normaliser before the subsystem uses it:
     * the subsystem's own existence checks would otherwise take a refused path for an unknown
     * one (stat answering with empty attributes, mkdir with "permission denied").
     */
    @Override
    public Path resolveLocalFilePath(SftpSubsystemProxy subsystem, Path rootDir, String remotePath) throws IOException {
        Path p = org.apache.sshd.sftp.server.SftpFileSystemAccessor.super.resolveLocalFilePath(subsystem, rootDir, remotePath);
        UserPath u = UserFileSystemProvider.path(p);
        u.getFileSystem().files().checkPath(u.userPath());
        return p;
    }

    @Override
    public SeekableByteChannel openFile(SftpSubsystemProxy subsystem, FileHandle fileHandle, Path file, String handle,
                                        Set<? extends OpenOption> options, FileAttribute<?>... attrs) throws IOException {
        UserPath p = UserFileSystemProvider.path(file);
        if (fileHandle == null) {
            // The subsystem's own use of a file: a SETSTAT of the size, or a server-side copy.
            throw new SftpException(SftpConstants.SSH_FX_OP_UNSUPPORTED, "changing the size of a file is not supported");
        }
        if (!options.contains(StandardOpenOption.WRITE) && !options.contains(StandardOpenOption.APPEND)) {
            return p.getFileSystem().track(DownloadChannel.open(p.getFileSystem().files(), p.getFileSystem().limits(), p.userPath()));
        }
        if (options.contains(StandardOpenOption.READ)) {
            throw new SftpException(SftpConstants.SSH_FX_OP_UNSUPPORTED, "a file cannot be open for reading and writing at once");
        }
        return p.getFileSystem().track(UploadChannel.open(p.getFileSystem(), p.userPath(), options, fileHandle.isOpenAppend()));
    }

    @Override
    public DirectoryStream<Path> openDirectory(SftpSubsystemProxy subsystem, DirectoryHandle dirHandle, Path dir,
                                               String handle, LinkOption... linkOptions) throws IOException {
        return UserFileSystemProvider.INSTANCE.newDirectoryStream(dir, null);
    }

    @Override
    public void setFileAttribute(SftpSubsystemProxy subsystem, Path file, String view, String attribute, Object value,
                                 LinkOption... options) throws IOException {
        if (attribute.equals("lastModifiedTime") && value instanceof FileTime t) {
            UserFileSystemProvider.setModified(UserFileSystemProvider.path(file), t);
        }
        // Access and creation times, uid and gid: accepted, not kept.
    }

    @Override
    public void setFilePermissions(SftpSubsystemProxy subsystem, Path file, Set<PosixFilePermission> perms,
                                   LinkOption... options) {
        // Accepted, not kept: every file shows as 0644, every folder as 0755.
    }

    @Override
    public UserPrincipal resolveFileOwner(SftpSubsystemProxy subsystem, Path file, UserPrincipal name) {
        return new DefaultUserPrincipal(name.getName());
    }

    @Override
    public void setFileOwner(SftpSubsystemProxy subsystem, Path file, java.security.Principal value, LinkOption... options) {
        // Accepted, not kept: files belong to the user who logged in.
    }

    @Override
    public GroupPrincipal resolveGroupOwner(SftpSubsystemProxy subsystem, Path file, GroupPrincipal name) {
        return new DefaultGroupPrincipal(name.getName());
    }

    @Override
    public void setGroupOwner(SftpSubsystemProxy subsystem, Path file, java.security.Principal value, LinkOption... options) {
    }

    @Override
    public void createLink(SftpSubsystemProxy subsystem, Path link, Path existing, boolean symLink) throws IOException {
        throw new SftpException(SftpConstants.SSH_FX_OP_UNSUPPORTED, "links are not supported");
    }

    @Override
    public String resolveLinkTarget(SftpSubsystemProxy subsystem, Path link) throws IOException {
        throw new SftpException(SftpConstants.SSH_FX_OP_UNSUPPORTED, "links are not supported");
    }

    @Override
    public void copyFile(SftpSubsystemProxy subsystem, Path src, Path dst, Collection<CopyOption> opts) throws IOException {
        throw new SftpException(SftpConstants.SSH_FX_OP_UNSUPPORTED, "copying on the server is not supported");
    }

    @Override
    public FileLock tryLock(SftpSubsystemProxy subsystem, FileHandle fileHandle, Path file, String handle,
                            Channel channel, long position, long size, boolean shared) throws IOException {
        throw new SftpException(SftpConstants.SSH_FX_OP_UNSUPPORTED, "locks are not supported");
    }

    @Override
    public void syncFileData(SftpSubsystemProxy subsystem, FileHandle fileHandle, Path file, String handle,
                             Channel channel) {
        // fsync@openssh.com: the backend confirms the whole file at CLOSE, nothing earlier.
    }
}
