// The SQLite schema of the durable store and its version.

/** Bump on any change to the tables below; a store of another version is refused at open. */
export const SCHEMA_VERSION = 2;

export const SCHEMA_SQL = `
CREATE TABLE meta (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE users (
  user_id INTEGER PRIMARY KEY,
  role TEXT NOT NULL,
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  login_failures INTEGER NOT NULL,
  locked INTEGER NOT NULL,
  -- HMAC of every column above (RowMac): a row edited or added outside the daemon fails at start.
  row_mac BLOB NOT NULL
) STRICT;

CREATE TABLE keys (
  handle INTEGER PRIMARY KEY,
  owner_id INTEGER NOT NULL REFERENCES users(user_id),
  key_class INTEGER NOT NULL,
  key_type INTEGER NOT NULL,
  label TEXT NOT NULL,
  key_id TEXT NOT NULL,
  flags TEXT NOT NULL,
  value_len INTEGER NOT NULL,
  kcv BLOB,
  material_nonce BLOB NOT NULL,
  material_tag BLOB NOT NULL,
  material_sealed BLOB NOT NULL,
  -- 0 while a call waits for -min_srv nodes: such a key is tombstoned at start-up.
  acknowledged INTEGER NOT NULL,
  -- HMAC of every column above and of the key's rows in key_shares (RowMac).
  row_mac BLOB NOT NULL
) STRICT;

CREATE TABLE key_shares (
  handle INTEGER NOT NULL REFERENCES keys(handle) ON DELETE CASCADE,
  user_id INTEGER NOT NULL,
  PRIMARY KEY (handle, user_id)
) STRICT;

CREATE TABLE key_nodes (
  handle INTEGER NOT NULL REFERENCES keys(handle) ON DELETE CASCADE,
  node_id INTEGER NOT NULL,
  PRIMARY KEY (handle, node_id)
) STRICT;
`;
