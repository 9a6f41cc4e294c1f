-- The hub's own database role, lrs_hub: not a superuser and not the owner of any table, so it
-- cannot drop the audit log's triggers. It reads and writes every table but may only append
-- to audit_log, and no other role but the owner (which runs migrations) is granted anything,
-- so the hub alone appends. A login role for `hub serve` is made a member of it (README,
-- "Database roles"). Roles are the cluster's, not the database's: create it only once.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lrs_hub') THEN
        CREATE ROLE lrs_hub NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- another database's migration created it at the same moment
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO lrs_hub;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM lrs_hub;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO lrs_hub;
-- Tables later migrations create are the hub's too; an append-only one revokes as above.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO lrs_hub;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO lrs_hub;
