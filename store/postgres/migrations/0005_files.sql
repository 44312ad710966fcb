-- Parley schema 5: attachments (store/files.go). The record is its JSON
-- document; the bytes are one bytea (TOASTed, at most store.MaxFileBytes),
-- NULL once the retention cleanup erased them. No foreign key: as in the
-- bbolt store, a file keeps the id of the contact it came from after a
-- merge (FileOf follows the merges); ForgetContact deletes them.
CREATE TABLE files (
    id         text COLLATE "C" PRIMARY KEY,
    contact_id text COLLATE "C" NOT NULL,
    at         timestamptz NOT NULL,
    doc        jsonb NOT NULL,
    data       bytea
);
CREATE INDEX files_contact ON files (contact_id);
CREATE INDEX files_at ON files (at) WHERE data IS NOT NULL;
