-- Aidant server schema, version 5: what a phone's lock and revocation need.
-- `recovery_secret`: a random code given to the phone at enrolment, which
-- wraps the phone's data key a second time; an admin reads it out (audited)
-- to unlock a phone locked out by wrong PINs while it holds unsynced changes.
-- `revoke_mode`: `lost` (the phone wipes at once) or `reassigned` (it may
-- still push what it holds, then wipes).
ALTER TABLE devices ADD COLUMN recovery_secret TEXT;
ALTER TABLE devices ADD COLUMN revoke_mode TEXT;

-- How many days after a visit's day the phones keep it once it is synced
-- (they forget it then); set per operation by an admin.
ALTER TABLE operations ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 7;
