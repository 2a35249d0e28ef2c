-- A due periodic record is claimed by the controller that fires it (Store.claim_due).
ALTER TABLE targets ADD COLUMN fire_lease_until DOUBLE PRECISION;
