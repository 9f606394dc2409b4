package org.transfergateway.storage.chain;

import java.io.IOException;
import org.transfergateway.storage.UploadJournal;
import org.transfergateway.storage.meter.BackendUpload;
import org.transfergateway.storage.meter.Transfer;
import org.transfergateway.storage.meter.TransferMeter;

/** Records the uploads a transfer opens on its backend in the ledger, against that transfer. */
final class TransferJournal implements UploadJournal {
    private final TransferMeter meter;
    private final Transfer transfer;
    private final String backend;

    TransferJournal(TransferMeter meter, Transfer transfer, String backend) {
        this.meter = meter;
        this.transfer = transfer;
        this.backend = backend;
    }

    @Override
    public void opened(String key, String uploadId) throws IOException {
        meter.uploadOpened(transfer, new BackendUpload(backend, key, uploadId));
    }

    @Override
    public UploadJournal on(String other) {
        return new TransferJournal(meter, transfer, other);
    }

    @Override
    public void closed(String key, String uploadId) {
        meter.uploadClosed(new BackendUpload(backend, key, uploadId));
    }
}
