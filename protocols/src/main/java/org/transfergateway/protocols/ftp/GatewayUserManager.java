package org.transfergateway.protocols.ftp;

import java.util.List;
import org.apache.ftpserver.ftplet.Authentication;
import org.apache.ftpserver.ftplet.AuthenticationFailedException;
import org.apache.ftpserver.ftplet.User;
import org.apache.ftpserver.ftplet.UserManager;
import org.apache.ftpserver.usermanager.UsernamePasswordAuthentication;
import org.apache.ftpserver.usermanager.impl.BaseUser;
import org.apache.ftpserver.usermanager.impl.ConcurrentLoginPermission;
import org.apache.ftpserver.usermanager.impl.TransferRatePermission;
import org.apache.ftpserver.usermanager.impl.WritePermission;
import org.transfergateway.config.UserConfig;
import org.transfergateway.protocols.auth.Accounts;

/**
 * Lets MINA FtpServer log in the configured users, and nobody else: anonymous logins and
 * any other form of authentication are refused. Read-only; users live in the config.
 */
final class GatewayUserManager implements UserManager {
    private final Accounts accounts;

    GatewayUserManager(Accounts accounts) {
        this.accounts = accounts;
    }

    @Override
    public User authenticate(Authentication authentication) throws AuthenticationFailedException {
        if (!(authentication instanceof UsernamePasswordAuthentication up)) {
            throw new AuthenticationFailedException("only user name and password logins are accepted");
        }
        java.net.InetAddress client = up.getUserMetadata() == null ? null : up.getUserMetadata().getInetAddress();
        UserConfig user = accounts.authenticate(up.getUsername(), up.getPassword(), client)
                .orElseThrow(() -> new AuthenticationFailedException("wrong user name or password"));
        return toFtpUser(user);
    }

    private static User toFtpUser(UserConfig u) {
        BaseUser user = new BaseUser();
        user.setName(u.name());
        user.setHomeDirectory("/");
        user.setEnabled(true);
        user.setMaxIdleTime(0);
        user.setAuthorities(List.of(new WritePermission(), new ConcurrentLoginPermission(0, 0),
                new TransferRatePermission(0, 0)));
        return user;
    }

    @Override
    public User getUserByName(String username) {
        return accounts.user(username).map(GatewayUserManager::toFtpUser).orElse(null);
    }

    @Override
    public String[] getAllUserNames() {
        return new String[0];
    }

    @Override
    public void delete(String username) {
        throw new UnsupportedOperationException("users are configured in the config file");
    }

    @Override
    public void save(User user) {
        throw new UnsupportedOperationException("users are configured in the config file");
    }

    @Override
    public boolean doesExist(String username) {
        return accounts.user(username).isPresent();
    }

    @Override
    public String getAdminName() {
        return "";
    }

    @Override
    public boolean isAdmin(String username) {
        return false;
    }
}
