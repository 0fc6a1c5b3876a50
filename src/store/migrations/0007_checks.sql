-- kura:schema-edit
--
-- 0007: every CHECK (col IN ('a', 'b', 'c', ...)) of 0001..0006 becomes
-- the equivalent ((col = 'a' OR col = 'b' OR col = 'c' ...)).  SQLite
-- 3.40 evaluates an IN list of three or more values through an ephemeral
-- b-tree that it builds and frees on every INSERT and UPDATE of the row
-- (OP_OpenEphemeral); the comparisons cost nothing of the kind
-- (docs/decisions.md #48).  Two-value lists (IN (0, 1)) are compiled as
-- comparisons already and stay.
--
-- Equivalent on every value: the columns are TEXT NOT NULL of STRICT
-- tables with the default BINARY collation, and both forms give NULL for
-- a NULL (which CHECK accepts) and a plain true or false otherwise.  No
-- row changes, so the definitions are edited in place in sqlite_schema
-- (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of
-- Table Schema Changes") instead of rebuilding the tables with their
-- foreign keys, triggers and the append-only audit trail.
--
-- The first line makes scripts/embed_sql.py mark this a schema-edit
-- migration; sq_migrate (src/store/sqlite.c) then runs it with
-- writable_schema on, allows it to read and to write sqlite_schema.sql
-- only, bumps the schema cookie and checks the result.  Its rules: each
-- statement changes exactly one row or is a query that returns none.
-- Each UPDATE requires the old text, so a definition that is not what
-- 0001..0006 wrote fails the migration instead of being skipped.

UPDATE sqlite_schema SET sql = replace(sql, e.old, e.new)
FROM (SELECT
    'status IN (''active'', ''suspended'', ''terminated'', ''purged'')'
    AS old,
    '(status = ''active'' OR status = ''suspended'' OR ' ||
    'status = ''terminated'' OR status = ''purged'')' AS new) AS e
WHERE type = 'table' AND name = 'tenants' AND instr(sql, e.old) > 0;

UPDATE sqlite_schema SET sql = replace(sql, e.old, e.new)
FROM (SELECT
    'status IN (''invited'', ''active'', ''disabled'')' AS old,
    '(status = ''invited'' OR status = ''active'' OR ' ||
    'status = ''disabled'')' AS new) AS e
WHERE type = 'table' AND name = 'users' AND instr(sql, e.old) > 0;

UPDATE sqlite_schema SET sql = replace(sql, e.old, e.new)
FROM (SELECT
    'actor_type IN (''user'', ''token'', ''operator'', ''system'', ' ||
    '''anonymous'')' AS old,
    '(actor_type = ''user'' OR actor_type = ''token'' OR ' ||
    'actor_type = ''operator'' OR actor_type = ''system'' OR ' ||
    'actor_type = ''anonymous'')' AS new) AS e
WHERE type = 'table' AND name = 'audit_events' AND instr(sql, e.old) > 0;

UPDATE sqlite_schema SET sql = replace(sql, e.old, e.new)
FROM (SELECT
    'outcome IN (''success'', ''failure'', ''denied'')' AS old,
    '(outcome = ''success'' OR outcome = ''failure'' OR ' ||
    'outcome = ''denied'')' AS new) AS e
WHERE type = 'table' AND name = 'audit_events' AND instr(sql, e.old) > 0;

UPDATE sqlite_schema SET sql = replace(sql, e.old, e.new)
FROM (SELECT
    'severity IN (''info'', ''warning'', ''critical'')' AS old,
    '(severity = ''info'' OR severity = ''warning'' OR ' ||
    'severity = ''critical'')' AS new) AS e
WHERE type = 'table' AND name = 'alerts' AND instr(sql, e.old) > 0;

UPDATE sqlite_schema SET sql = replace(sql, e.old, e.new)
FROM (SELECT
    'channel IN (''console'', ''email'', ''webhook'')' AS old,
    '(channel = ''console'' OR channel = ''email'' OR ' ||
    'channel = ''webhook'')' AS new) AS e
WHERE type = 'table' AND name = 'notification_outbox' AND
    instr(sql, e.old) > 0;

UPDATE sqlite_schema SET sql = replace(sql, e.old, e.new)
FROM (SELECT
    'status IN (''ok'', ''degraded'', ''failing'')' AS old,
    '(status = ''ok'' OR status = ''degraded'' OR ' ||
    'status = ''failing'')' AS new) AS e
WHERE type = 'table' AND name = 'health_checks' AND instr(sql, e.old) > 0;

UPDATE sqlite_schema SET sql = replace(sql, e.old, e.new)
FROM (SELECT
    'role IN (''owner'', ''editor'', ''viewer'')' AS old,
    '(role = ''owner'' OR role = ''editor'' OR role = ''viewer'')' AS new)
    AS e
WHERE type = 'table' AND name = 'project_members' AND
    instr(sql, e.old) > 0;

UPDATE sqlite_schema SET sql = replace(sql, e.old, e.new)
FROM (SELECT
    'status IN (''open'', ''in_progress'', ''done'')' AS old,
    '(status = ''open'' OR status = ''in_progress'' OR ' ||
    'status = ''done'')' AS new) AS e
WHERE type = 'table' AND name = 'tasks' AND instr(sql, e.old) > 0;

-- 0006 broke these two lists over lines: a newline, a tab, four spaces
UPDATE sqlite_schema SET sql = replace(sql, e.old, e.new)
FROM (SELECT
    'resource_type IN (''project'',' || char(10, 9) || '    ' ||
    '''directory'', ''file'', ''task'', ''role'', ''token'')' AS old,
    '(resource_type = ''project'' OR resource_type = ''directory'' OR ' ||
    'resource_type = ''file'' OR resource_type = ''task'' OR ' ||
    'resource_type = ''role'' OR resource_type = ''token'')' AS new) AS e
WHERE type = 'table' AND name = 'resource_labels' AND
    instr(sql, e.old) > 0;

UPDATE sqlite_schema SET sql = replace(sql, e.old, e.new)
FROM (SELECT
    'status IN (''queued'', ''running'', ''ready'',' || char(10, 9) ||
    '    ''failed'', ''expired'')' AS old,
    '(status = ''queued'' OR status = ''running'' OR ' ||
    'status = ''ready'' OR status = ''failed'' OR ' ||
    'status = ''expired'')' AS new) AS e
WHERE type = 'table' AND name = 'exports' AND instr(sql, e.old) > 0;

-- None of the old lists is left anywhere (a row here fails the migration).
SELECT name FROM sqlite_schema WHERE type = 'table' AND (
    instr(sql, 'status IN (') > 0 OR instr(sql, 'actor_type IN (') > 0 OR
    instr(sql, 'outcome IN (') > 0 OR instr(sql, 'severity IN (') > 0 OR
    instr(sql, 'channel IN (') > 0 OR instr(sql, 'role IN (') > 0 OR
    instr(sql, 'resource_type IN (') > 0);
