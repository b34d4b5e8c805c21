-- Which key encrypted each token: a keyed digest of the Fernet key (HMAC-SHA256 under the key itself
-- of a fixed label), never the key or the token. Storing a credential checks that the current keys
-- open the stored tokens by comparing these ids, instead of decrypting every active token (which
-- made adding N accounts quadratic). NULL for tokens stored before this migration: those are
-- decrypted once and stamped.

ALTER TABLE broker_credentials ADD COLUMN key_id TEXT;
