package org.transfergateway.protocols.sftp;

import java.nio.file.LinkOption;
import java.util.List;
import org.apache.sshd.common.file.util.BasePath;
import org.transfergateway.storage.ObjectInfo;

/**
 * A path in a user's {@link UserFileSystem}: "/" is the user's home. A path that came out of
 * a folder listing carries what the listing said of it, so that the SFTP subsystem's stat
 * of each entry costs no request to the backend.
 */
final class UserPath extends BasePath<UserPath, UserFileSystem> {
    private final ObjectInfo listed;

    UserPath(UserFileSystem fs, String root, List<String> names) {
        this(fs, root, names, null);
    }

    private UserPath(UserFileSystem fs, String root, List<String> names, ObjectInfo listed) {
        super(fs, root, names);
        this.listed = listed;
    }

    /** This path with what a listing said of it. */
    UserPath listed(ObjectInfo info) {
        return new UserPath(getFileSystem(), root, names, info);
    }

    /** What the listing said of this path, or null when it did not come from a listing. */
    ObjectInfo listedInfo() {
        return listed;
    }

    /** The path as UserFiles takes it: absolute, without "." or "..". */
    String userPath() {
        return toAbsolutePath().normalize().toString();
    }

    /** There are no links: the real path is the normalized absolute one. */
    @Override
    public UserPath toRealPath(LinkOption... options) {
        return toAbsolutePath().normalize();
    }
}
