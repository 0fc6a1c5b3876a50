-- 0005: results of the periodic health checks (MON-1), kept for the
-- status page.  Components: database, disk, keys, audit, clock (new ones
-- need no migration); status ok, degraded or failing; detail is a short
-- text for operators without secrets.  History is pruned (30 days) by
-- the checker itself.

CREATE TABLE health_checks (
	id INTEGER PRIMARY KEY NOT NULL,
	component TEXT NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('ok', 'degraded', 'failing')),
	detail TEXT NOT NULL,
	checked_us INTEGER NOT NULL
) STRICT;

CREATE INDEX health_checks_component ON health_checks(component, id);
CREATE INDEX health_checks_time ON health_checks(checked_us);

-- One row the database check writes and reads back each round.
CREATE TABLE health_probe (
	id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
	value TEXT NOT NULL,
	written_us INTEGER NOT NULL
) STRICT;
