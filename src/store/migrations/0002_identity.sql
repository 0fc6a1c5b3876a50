-- 0002: identity: sign-in state, TOTP and invitations on users; recovery
-- codes, browser sessions, custom roles, API tokens, tenant settings.
-- Secrets that are only checked (session, CSRF, API and invitation tokens,
-- recovery codes) are stored as SHA-256 hex; customer content is sealed.
-- Rows that belong to a user name (tenant_id, user_id) together as the
-- foreign key, so the database itself refuses a row whose user lives in
-- another tenant, and deleting the user cascades to them.

ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until_us INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_login_us INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN password_changed_us INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN mfa_enabled INTEGER NOT NULL DEFAULT 0
    CHECK (mfa_enabled IN (0, 1));
ALTER TABLE users ADD COLUMN totp_secret BLOB;
ALTER TABLE users ADD COLUMN totp_pending BLOB;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN invite_hash TEXT;
ALTER TABLE users ADD COLUMN invite_expires_us INTEGER NOT NULL DEFAULT 0;

-- Invitation lookup is by token hash alone (the token is the credential).
CREATE UNIQUE INDEX users_invite_hash ON users(invite_hash)
    WHERE invite_hash IS NOT NULL;
-- Parent key of the (tenant_id, user_id) foreign keys below.
CREATE UNIQUE INDEX users_tenant_id ON users(tenant_id, id);

CREATE TABLE recovery_codes (
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	user_id TEXT NOT NULL,
	code_hash TEXT NOT NULL,
	used_us INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (user_id, code_hash),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
	    ON DELETE CASCADE
) STRICT;

CREATE INDEX recovery_codes_tenant_user ON recovery_codes(tenant_id, user_id);

CREATE TABLE sessions (
	id TEXT PRIMARY KEY NOT NULL,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	user_id TEXT NOT NULL,
	token_hash TEXT UNIQUE NOT NULL,
	csrf_hash TEXT NOT NULL,
	kind TEXT NOT NULL CHECK (kind IN ('preauth', 'full')),
	client_ip TEXT NOT NULL,
	created_us INTEGER NOT NULL,
	last_seen_us INTEGER NOT NULL,
	expires_us INTEGER NOT NULL,
	FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
	    ON DELETE CASCADE
) STRICT;

CREATE INDEX sessions_tenant_user ON sessions(tenant_id, user_id);
-- Housekeeping (store_session_purge) scans by time.
CREATE INDEX sessions_expires ON sessions(expires_us);
CREATE INDEX sessions_last_seen ON sessions(last_seen_us);

CREATE TABLE roles (
	id TEXT PRIMARY KEY NOT NULL,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	name_index TEXT NOT NULL,
	name BLOB NOT NULL,
	labels BLOB,
	permissions TEXT NOT NULL,
	created_us INTEGER NOT NULL,
	updated_us INTEGER NOT NULL,
	UNIQUE (tenant_id, name_index)
) STRICT;

CREATE TABLE api_tokens (
	id TEXT PRIMARY KEY NOT NULL,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	user_id TEXT NOT NULL,
	token_hash TEXT UNIQUE NOT NULL,
	name BLOB NOT NULL,
	labels BLOB,
	permissions TEXT NOT NULL,
	expires_us INTEGER NOT NULL,
	last_used_us INTEGER NOT NULL DEFAULT 0,
	created_us INTEGER NOT NULL,
	FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
	    ON DELETE CASCADE
) STRICT;

CREATE INDEX api_tokens_tenant_user ON api_tokens(tenant_id, user_id);

CREATE TABLE tenant_settings (
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	kind TEXT NOT NULL,
	doc BLOB NOT NULL,
	updated_us INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, kind)
) STRICT;
