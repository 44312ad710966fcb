-- Parley schema 4: saved replies (console), cascades, API keys, consent.

-- A lead's saved replies, as their JSON documents.
CREATE TABLE saved_replies (
    id  text COLLATE "C" PRIMARY KEY,
    doc jsonb NOT NULL
);

-- A cascade's opaque state (the runtime's JSON).
CREATE TABLE cascades (
    id   text COLLATE "C" PRIMARY KEY,
    data bytea NOT NULL
);

-- Machine keys under the SHA-256 of the key (never the key itself).
CREATE TABLE api_keys (
    hash bytea PRIMARY KEY,
    id   text COLLATE "C" NOT NULL UNIQUE,
    doc  jsonb NOT NULL,
    name text GENERATED ALWAYS AS (doc ->> 'name') STORED NOT NULL
);
CREATE INDEX api_keys_name ON api_keys (name);

-- Marketing consent per contact and channel. No foreign key: as in the
-- bbolt store, an absorbed contact's records outlive the merge, so its
-- undo gives them back; ForgetContact deletes them.
CREATE TABLE consent (
    contact_id text COLLATE "C" NOT NULL,
    channel    text COLLATE "C" NOT NULL,
    opted_out  boolean NOT NULL,
    at         timestamptz NOT NULL,
    source     text NOT NULL DEFAULT '',
    PRIMARY KEY (contact_id, channel)
);
