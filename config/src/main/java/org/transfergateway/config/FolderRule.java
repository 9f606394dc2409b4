package org.transfergateway.config;

/**
 * A per-folder rule of a user ({@code users[].folders[]}): the files under {@code path} live on
 * {@code backend} instead of the user's own backend. When several rules cover a path, the
 * longest one wins.
 *
 * @param path    a folder as the user sees it ("/" being its home): absolute, normalized,
 *                without a trailing "/", never "/" itself
 * @param backend the name of a backend or of a pool
 */
public record FolderRule(String path, String backend) {

    /** True when {@code userPath} is this folder or lies under it. */
    public boolean covers(String userPath) {
        return userPath.equals(path) || userPath.startsWith(path + "/");
    }
}
