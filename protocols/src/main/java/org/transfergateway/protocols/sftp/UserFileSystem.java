package org.transfergateway.protocols.sftp;

import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.sshd.common.file.util.BaseFileSystem;
import org.transfergateway.config.LimitsConfig;
import org.transfergateway.storage.UserFiles;

/**
 * One SFTP session's view of a user's files, as the java.nio file system that MINA SSHD's
 * SFTP subsystem works on. Everything goes through the user's {@link UserFiles}, so SFTP
 * normalises, refuses and counts as FTP and HTTP do; {@link UserFileSystemProvider} does
 * the work, {@link GatewayFileAccessor} opens files.
 */
final class UserFileSystem extends BaseFileSystem<UserPath> {
    private final UserFiles files;
    private final LimitsConfig limits;
    /** The front end's open file handles, for its sweep of limits.min-transfer-rate. */
    private final Set<HandleChannel> transfers;
    /** Uploads open in this session by user path, for a SETSTAT that arrives before their CLOSE. */
    private final Map<String, UploadChannel> uploads = new ConcurrentHashMap<>();
    private volatile boolean open = true;

    UserFileSystem(UserFiles files, LimitsConfig limits, Set<HandleChannel> transfers) {
        super(UserFileSystemProvider.INSTANCE);
        this.files = files;
        this.limits = limits;
        this.transfers = transfers;
    }

    /**
     * Counts a handle just opened among those the rate sweep looks at; closed ones leave at the
     * next sweep. Without a minimum rate there is no sweep, and nothing is kept.
     */
    <C extends HandleChannel> C track(C channel) {
        if (limits.minTransferRate() > 0) {
            transfers.add(channel);
        }
        return channel;
    }

    /** The listener's limits: each transfer's minimum rate. */
    LimitsConfig limits() {
        return limits;
    }

    UserFiles files() {
        return files;
    }

    Map<String, UploadChannel> uploads() {
        return uploads;
    }

    @Override
    protected UserPath create(String root, List<String> names) {
        return new UserPath(this, root, names);
    }

    @Override
    public void close() {
        open = false;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public Set<String> supportedFileAttributeViews() {
        return Set.of("basic", "posix");
    }

    @Override
    public UserPrincipalLookupService getUserPrincipalLookupService() {
        throw new UnsupportedOperationException("owners cannot be changed");
    }
}
