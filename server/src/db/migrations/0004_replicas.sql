-- Aidant server schema, version 4: a device's current replica id.
-- A phone's ops carry its replica id; it starts as the device id (NULL here
-- means that). A phone that reused op ids (restored from an old backup) gets
-- a fresh replica id from `POST /sync/rekey` and re-issues its edits under it.
ALTER TABLE devices ADD COLUMN replica_id TEXT;
