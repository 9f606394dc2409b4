package org.transfergateway.config;

/**
 * A user who may log in over FTP and HTTP.
 *
 * @param password     the clear-text password, or null when {@code passwordHash} is set
 * @param passwordHash the output of {@code hash-password}, or null
 * @param backend      the name of the backend holding the user's files
 * @param home         where "/" of this user lies in the backend, starting with "/"
 * @param admin        admins read every user's statistics and the metrics
 * @param policy       the user's permissions and quota
 */
public record UserConfig(
        String name,
        String password,
        String passwordHash,
        String backend,
        String home,
        boolean admin,
        UserPolicy policy) {

    @Override
    public String toString() {
        return "UserConfig[name=" + name + ", backend=" + backend + ", home=" + home + ", admin=" + admin + "]";
    }
}
