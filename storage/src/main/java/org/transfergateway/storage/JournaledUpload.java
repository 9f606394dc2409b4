package org.transfergateway.storage;

/**
 * An upload that may open state on its backend that outlives the process until it is
 * completed or aborted (an S3 multipart upload), and reports it to an {@link UploadJournal}.
 */
public interface JournaledUpload extends Upload {

    /** Whom to tell; set before the first write. */
    void journalTo(UploadJournal journal);
}
