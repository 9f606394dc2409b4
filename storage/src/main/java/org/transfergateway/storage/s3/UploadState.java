package org.transfergateway.storage.s3;

/** Where an upload stands: still taking bytes, or over one way or the other. */
enum UploadState { OPEN, COMMITTED, ABORTED }
