-- Parley schema 3: what each channel says about the customer behind an
-- identity (store.Profile), kept on the identity's row so it moves with it
-- when contacts merge and when a merge is undone.
ALTER TABLE identities ADD COLUMN profile jsonb;
