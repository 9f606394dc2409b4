package org.transfergateway.config;

/**
 * What a user may do, enforced alike over FTP and HTTP.
 *
 * @param read       may download and list
 * @param write      may upload, make folders and rename
 * @param delete     may delete files and folders (and replace files by renaming over them)
 * @param quotaBytes the most bytes the user may hold on its backend; 0 for no limit
 * @param quotaFiles the most files the user may hold on its backend; 0 for no limit
 */
public record UserPolicy(boolean read, boolean write, boolean delete, long quotaBytes, long quotaFiles) {
    public static final UserPolicy UNLIMITED = new UserPolicy(true, true, true, 0, 0);
}
