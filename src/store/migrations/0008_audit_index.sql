-- 0008: drop audit_events_tenant_time.  No statement uses it: the tenant
-- view (SQ_AUDIT_QUERY) pages by tenant_seq and filters time with
-- "(?2 = 0 OR time_us >= ?2)", for which SQLite picks
-- audit_events_tenant_seq (EXPLAIN QUERY PLAN, also after ANALYZE), and
-- retention scans by seq.  Every append paid for updating it
-- (docs/decisions.md #51).
DROP INDEX audit_events_tenant_time;
