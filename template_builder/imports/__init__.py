"""The import stack (templates/import.yaml): S3 events through EventBridge to SQS, consumed by the
bulk-import function (AWS SAM), which posts rows to the service's batch endpoint."""
