-- 0003: the audit trail (LOG-1..LOG-5).  Records are hash-chained per
-- tenant and globally (see src/audit/audit.h); no customer content is
-- stored here, only ids, action names, addresses, statuses and small
-- details.  Rows are append-only: triggers refuse UPDATE, and DELETE
-- except while retention (audit_expire) holds the expiry guard.

CREATE TABLE audit_events (
	seq INTEGER PRIMARY KEY NOT NULL,   -- global order, 1, 2, 3 ...
	id TEXT NOT NULL,                   -- evt_... (random; covered by the hash)
	tenant_id TEXT,                     -- NULL: operator or system event
	tenant_seq INTEGER NOT NULL DEFAULT 0,
	time_us INTEGER NOT NULL,
	actor_type TEXT NOT NULL
	    CHECK (actor_type IN ('user', 'token', 'operator', 'system', 'anonymous')),
	actor_id TEXT NOT NULL,
	source_ip TEXT NOT NULL,
	request_id TEXT NOT NULL,
	action TEXT NOT NULL,
	resource_type TEXT NOT NULL,
	resource_id TEXT NOT NULL,
	outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
	status INTEGER NOT NULL,
	detail TEXT NOT NULL,
	prev_tenant_hash TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL
) STRICT;

CREATE UNIQUE INDEX audit_events_tenant_seq ON audit_events(tenant_id, tenant_seq)
    WHERE tenant_id IS NOT NULL;
CREATE INDEX audit_events_tenant_time ON audit_events(tenant_id, time_us);
-- no index on time_us alone: only the daily retention job asks, and a
-- scan there is cheaper than an index update on every append

-- Signed chain heads: kind 'checkpoint' (periodic seals) or 'anchor'
-- (the last record removed by retention); scope 'global' or a tenant id.
CREATE TABLE audit_marks (
	kind TEXT NOT NULL CHECK (kind IN ('checkpoint', 'anchor')),
	scope TEXT NOT NULL,
	seq INTEGER NOT NULL,
	hash TEXT NOT NULL,
	time_us INTEGER NOT NULL,
	key_id TEXT NOT NULL,
	signature TEXT NOT NULL,
	PRIMARY KEY (kind, scope, seq)
) STRICT;

CREATE TABLE audit_expiry_guard (
	active INTEGER NOT NULL
) STRICT;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
	SELECT RAISE(ABORT, 'audit records are append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN (SELECT count(*) FROM audit_expiry_guard) = 0
BEGIN
	SELECT RAISE(ABORT, 'audit records are removed only by retention');
END;

CREATE TRIGGER audit_marks_no_update BEFORE UPDATE ON audit_marks
BEGIN
	SELECT RAISE(ABORT, 'audit marks are append-only');
END;
