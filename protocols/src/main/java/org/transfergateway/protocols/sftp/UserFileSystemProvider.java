package org.transfergateway.protocols.sftp;

import java.io.IOException;
import java.net.URI;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.spi.FileSystemProvider;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.sshd.sftp.server.DefaultGroupPrincipal;
import org.apache.sshd.sftp.server.DefaultUserPrincipal;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.UserFiles;

/**
 * The operations of a {@link UserFileSystem}, each one call to the user's {@link UserFiles}:
 * stat, list, mkdir, rmdir, remove, rename and the modification time. Files are not opened
 * here but by {@link GatewayFileAccessor}, which knows the SFTP handle. Absent paths are
 * {@link NoSuchFileException}s, as the SFTP subsystem's existence checks expect.
 */
final class UserFileSystemProvider extends FileSystemProvider {
    static final UserFileSystemProvider INSTANCE = new UserFileSystemProvider();

    private static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-r--r--");
    private static final Set<PosixFilePermission> FOLDER_MODE = PosixFilePermissions.fromString("rwxr-xr-x");

    private UserFileSystemProvider() {
    }

    static UserPath path(Path p) {
        if (p instanceof UserPath u) {
            return u;
        }
        throw new ProviderMismatchException("not a path of the gateway: " + p);
    }

    private static UserFiles files(UserPath p) {
        return p.getFileSystem().files();
    }

    /** The file or folder at {@code p}; NoSuchFileException when there is none. */
    static ObjectInfo info(UserPath p) throws IOException {
        ObjectInfo listed = p.listedInfo();
        if (listed != null) {
            return listed;
        }
        String user = p.userPath();
        ObjectInfo info = files(p).stat(user);
        if (info == null) {
            throw new NoSuchFileException(user);
        }
        return info;
    }

    @Override
    public String getScheme() {
        return "gateway-sftp";
    }

    @Override
    public FileSystem newFileSystem(URI uri, Map<String, ?> env) {
        throw new UnsupportedOperationException("user file systems are made per SFTP session");
    }

    @Override
    public FileSystem getFileSystem(URI uri) {
        throw new UnsupportedOperationException("user file systems are made per SFTP session");
    }

    @Override
    public Path getPath(URI uri) {
        throw new UnsupportedOperationException("user file systems are made per SFTP session");
    }

    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs) {
        throw new UnsupportedOperationException("files are opened through SFTP handles only");
    }

    @Override
    public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter) throws IOException {
        UserPath d = path(dir);
        String user = d.userPath();
        List<ObjectInfo> entries;
        try {
            entries = files(d).list(user);
        } catch (GatewayException e) {
            if (e.code() == ErrorCode.NOT_FOUND) {
                throw new NoSuchFileException(user);
            }
            if (e.code() == ErrorCode.CONFLICT) {
                throw new NotDirectoryException(user);
            }
            throw e;
        }
        List<Path> paths = new ArrayList<>(entries.size());
        for (ObjectInfo info : entries) {
            UserPath p = d.resolve(info.name()).listed(info);
            if (filter == null || filter.accept(p)) {
                paths.add(p);
            }
        }
        return new DirectoryStream<>() {
            @Override
            public Iterator<Path> iterator() {
                return paths.iterator();
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
        UserPath d = path(dir);
        try {
            files(d).makeFolder(d.userPath());
        } catch (GatewayException e) {
            if (e.code() == ErrorCode.CONFLICT) {
                throw new FileAlreadyExistsException(d.userPath());
            }
            throw e;
        }
    }

    @Override
    public void delete(Path path) throws IOException {
        UserPath p = path(path);
        String user = p.userPath();
        ObjectInfo info = info(p);
        try {
            if (info.folder()) {
                files(p).removeFolder(user);
            } else {
                files(p).delete(user);
            }
        } catch (GatewayException e) {
            if (e.code() == ErrorCode.NOT_EMPTY) {
                throw new DirectoryNotEmptyException(user);
            }
            throw e;
        }
    }

    @Override
    public void copy(Path source, Path target, CopyOption... options) {
        throw new UnsupportedOperationException("copying on the server is not supported");
    }

    @Override
    public void move(Path source, Path target, CopyOption... options) throws IOException {
        UserPath from = path(source);
        UserPath to = path(target);
        info(from);
        boolean replace = Arrays.asList(options).contains(StandardCopyOption.REPLACE_EXISTING);
        if (!replace && files(to).stat(to.userPath()) != null) {
            throw new FileAlreadyExistsException(to.userPath());
        }
        files(from).move(from.userPath(), to.userPath());
    }

    @Override
    public boolean isSameFile(Path path, Path path2) {
        return path(path).userPath().equals(path(path2).userPath());
    }

    @Override
    public boolean isHidden(Path path) {
        return false;
    }

    @Override
    public FileStore getFileStore(Path path) {
        throw new UnsupportedOperationException("no file store information");
    }

    @Override
    public void checkAccess(Path path, AccessMode... modes) throws IOException {
        info(path(path));
    }

    @Override
    @SuppressWarnings("unchecked")
    public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
        if (type != BasicFileAttributeView.class) {
            return null;
        }
        UserPath p = path(path);
        return (V) new BasicFileAttributeView() {
            @Override
            public String name() {
                return "basic";
            }

            @Override
            public BasicFileAttributes readAttributes() throws IOException {
                return new Attributes(info(p), p.getFileSystem().files().user());
            }

            @Override
            public void setTimes(FileTime lastModifiedTime, FileTime lastAccessTime, FileTime createTime) throws IOException {
                if (lastModifiedTime != null) {
                    setModified(p, lastModifiedTime);
                }
            }
        };
    }

    /** Sets the modification time, for an upload still open in this session when it commits. */
    static void setModified(UserPath p, FileTime time) throws IOException {
        String user = p.userPath();
        UserFiles files = p.getFileSystem().files();
        if (!files.keepsModified()) {
            // Said now, not at the upload's CLOSE, whose answer must only be about the file.
            throw ErrorCode.BAD_REQUEST.exception("this storage does not keep modification times");
        }
        UploadChannel open = p.getFileSystem().uploads().get(user);
        if (open != null) {
            open.modifiedOnCommit(time.toInstant());
            return;
        }
        files.setModified(user, time.toInstant());
    }

    @Override
    @SuppressWarnings("unchecked")
    public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options) throws IOException {
        if (type != BasicFileAttributes.class && type != PosixFileAttributes.class) {
            throw new UnsupportedOperationException("no " + type.getSimpleName());
        }
        UserPath p = path(path);
        return (A) new Attributes(info(p), p.getFileSystem().files().user());
    }

    @Override
    public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options) throws IOException {
        UserPath p = path(path);
        Attributes a = new Attributes(info(p), p.getFileSystem().files().user());
        Map<String, Object> m = new HashMap<>();
        m.put("size", a.size());
        m.put("lastModifiedTime", a.lastModifiedTime());
        m.put("lastAccessTime", a.lastAccessTime());
        m.put("creationTime", a.creationTime());
        m.put("isRegularFile", a.isRegularFile());
        m.put("isDirectory", a.isDirectory());
        m.put("isSymbolicLink", false);
        m.put("isOther", false);
        m.put("fileKey", null);
        if (attributes.startsWith("posix:")) {
            m.put("permissions", a.permissions());
            m.put("owner", a.owner());
            m.put("group", a.group());
        }
        return m;
    }

    @Override
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options) throws IOException {
        String name = attribute.startsWith("basic:") ? attribute.substring("basic:".length()) : attribute;
        if (name.equals("lastModifiedTime") && value instanceof FileTime t) {
            setModified(path(path), t);
            return;
        }
        throw new UnsupportedOperationException("cannot set " + attribute);
    }

    /** A file or folder as SFTP shows it: a plain file (0644) or folder (0755) of the user's own. */
    private record Attributes(ObjectInfo info, String user) implements PosixFileAttributes {
        @Override
        public FileTime lastModifiedTime() {
            return FileTime.from(info.modified());
        }

        @Override
        public FileTime lastAccessTime() {
            return lastModifiedTime();
        }

        @Override
        public FileTime creationTime() {
            return lastModifiedTime();
        }

        @Override
        public boolean isRegularFile() {
            return !info.folder();
        }

        @Override
        public boolean isDirectory() {
            return info.folder();
        }

        @Override
        public boolean isSymbolicLink() {
            return false;
        }

        @Override
        public boolean isOther() {
            return false;
        }

        @Override
        public long size() {
            return info.size();
        }

        @Override
        public Object fileKey() {
            return null;
        }

        @Override
        public UserPrincipal owner() {
            return new DefaultUserPrincipal(user);
        }

        @Override
        public GroupPrincipal group() {
            return new DefaultGroupPrincipal(user);
        }

        @Override
        public Set<PosixFilePermission> permissions() {
            return info.folder() ? FOLDER_MODE : FILE_MODE;
        }
    }
}
