-- 0001: tenant registry, tenant data keys, users.
-- Customer content (names, login ids, e-mail addresses) arrives sealed
-- (BLOB); equality lookups go through blind indexes (TEXT, hex HMAC).
-- Time columns are UTC microseconds.

CREATE TABLE tenants (
	id TEXT PRIMARY KEY NOT NULL,
	contract_id TEXT UNIQUE NOT NULL,
	name BLOB NOT NULL,
	seats INTEGER NOT NULL CHECK (seats > 0),
	status TEXT NOT NULL
	    CHECK (status IN ('active', 'suspended', 'terminated', 'purged')),
	region TEXT NOT NULL,
	timezone TEXT NOT NULL,
	created_us INTEGER NOT NULL,
	updated_us INTEGER NOT NULL
) STRICT;

-- Tenant data keys, wrapped under a KEK version; rows are never deleted
-- while data sealed under them may exist.
CREATE TABLE tenant_keys (
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	version INTEGER NOT NULL,
	kek_version INTEGER NOT NULL,
	wrapped BLOB NOT NULL,
	created_us INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, version)
) STRICT;

CREATE INDEX tenant_keys_kek_version ON tenant_keys(kek_version);

CREATE TABLE users (
	id TEXT PRIMARY KEY NOT NULL,
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	login_index TEXT NOT NULL,
	email_index TEXT NOT NULL,
	login_id BLOB NOT NULL,
	email BLOB NOT NULL,
	display_name BLOB NOT NULL,
	password_hash TEXT,
	status TEXT NOT NULL CHECK (status IN ('invited', 'active', 'disabled')),
	roles TEXT NOT NULL,
	must_change_password INTEGER NOT NULL DEFAULT 0
	    CHECK (must_change_password IN (0, 1)),
	created_us INTEGER NOT NULL,
	updated_us INTEGER NOT NULL,
	UNIQUE (tenant_id, login_index)
) STRICT;

CREATE INDEX users_tenant_email ON users(tenant_id, email_index);
