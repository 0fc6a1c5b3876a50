-- 0004: alerts raised on the audit stream, the notification outbox, and
-- the networks each user has signed in from (LOG-6).
-- Nothing here is customer content: alert summaries are made of ids,
-- counts and rule names only, outbox payloads likewise, and networks are
-- the /24 (IPv4) or /48 (IPv6) of a source address.

-- One alert.  tenant_id NULL: operator-wide (seen only with `kura alerts`).
-- (rule, event, tenant) is unique so that an alert raised twice for the
-- same audit record (two processes catching up at once) is stored once.
CREATE TABLE alerts (
	id TEXT PRIMARY KEY NOT NULL,       -- alr_...
	tenant_id TEXT REFERENCES tenants(id),
	rule TEXT NOT NULL,
	severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
	summary TEXT NOT NULL,
	event_seq INTEGER NOT NULL,         -- audit record that triggered it
	event_id TEXT NOT NULL,             -- its evt_... id
	actor_id TEXT NOT NULL,
	source_ip TEXT NOT NULL,
	created_us INTEGER NOT NULL,
	acked_us INTEGER NOT NULL DEFAULT 0,
	acked_by TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE UNIQUE INDEX alerts_event ON alerts(rule, event_seq, COALESCE(tenant_id, ''));
-- The tenant view and the operator listing, newest first.
CREATE INDEX alerts_tenant_created ON alerts(tenant_id, created_us, id);
CREATE INDEX alerts_created ON alerts(created_us, id);

-- Notifications waiting for delivery: one row per alert and channel.
-- The operations issue drains it (e-mail, webhooks); attempts and
-- next_attempt_us drive retries, delivered_us 0 means pending.
CREATE TABLE notification_outbox (
	id TEXT PRIMARY KEY NOT NULL,       -- ntf_...
	tenant_id TEXT REFERENCES tenants(id),
	channel TEXT NOT NULL CHECK (channel IN ('console', 'email', 'webhook')),
	alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
	payload TEXT NOT NULL,              -- JSON, no customer content
	created_us INTEGER NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_us INTEGER NOT NULL DEFAULT 0,
	delivered_us INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX notification_outbox_pending ON notification_outbox(
    delivered_us, next_attempt_us);
CREATE INDEX notification_outbox_alert ON notification_outbox(alert_id);

-- Networks a user has signed in from ("sign-in from a new network").
CREATE TABLE known_networks (
	tenant_id TEXT NOT NULL REFERENCES tenants(id),
	user_id TEXT NOT NULL,
	network TEXT NOT NULL,              -- "192.0.2.0/24" or "2001:db8:1::/48"
	first_seen_us INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, user_id, network),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id)
	    ON DELETE CASCADE
) STRICT;

-- Progress of the alerts engine over audit records written by other
-- processes (operator CLI commands such as `kura audit verify`).
CREATE TABLE alert_cursor (
	name TEXT PRIMARY KEY NOT NULL,
	seq INTEGER NOT NULL
) STRICT;
