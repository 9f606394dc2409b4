package org.transfergateway.config;

import java.util.List;

/**
 * A user who may log in over FTP, HTTP and SFTP.
 *
 * @param password     the clear-text password, or null when {@code passwordHash} is set
 * @param passwordHash the output of {@code hash-password}, or null
 * @param backend      the name of the backend or pool holding the user's files
 * @param home         where "/" of this user lies in the backend, starting with "/"
 * @param admin        admins read every user's statistics and the metrics
 * @param policy       the user's permissions and quota
 * @param folders      folders whose files live on another backend or pool, in config order
 * @param authorizedKeys OpenSSH public key lines that log the user in over SFTP, beside the password
 */
public record UserConfig(
        String name,
        String password,
        String passwordHash,
        String backend,
        String home,
        boolean admin,
        UserPolicy policy,
        List<FolderRule> folders,
        List<String> authorizedKeys) {

    public UserConfig {
        folders = List.copyOf(folders);
        authorizedKeys = List.copyOf(authorizedKeys);
    }

    /** A user without SFTP keys. */
    public UserConfig(String name, String password, String passwordHash, String backend, String home,
            boolean admin, UserPolicy policy, List<FolderRule> folders) {
        this(name, password, passwordHash, backend, home, admin, policy, folders, List.of());
    }

    /** A user whose files all live on {@code backend}. */
    public UserConfig(String name, String password, String passwordHash, String backend, String home,
            boolean admin, UserPolicy policy) {
        this(name, password, passwordHash, backend, home, admin, policy, List.of());
    }

    /**
     * The backend or pool that holds {@code userPath} (a path as the user sees it, "/" being its
     * home): that of the longest folder rule covering it, else the user's own.
     */
    public String backendFor(String userPath) {
        FolderRule best = null;
        for (FolderRule rule : folders) {
            if (rule.covers(userPath) && (best == null || rule.path().length() > best.path().length())) {
                best = rule;
            }
        }
        return best == null ? backend : best.backend();
    }

    @Override
    public String toString() {
        return "UserConfig[name=" + name + ", backend=" + backend + ", home=" + home + ", admin=" + admin
                + (folders.isEmpty() ? "" : ", folders=" + folders) + "]";
    }
}
