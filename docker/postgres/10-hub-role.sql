-- Run once, when the database volume is first created (docker-entrypoint-initdb.d): the hub's
-- group role, and the login `hub serve` uses. Migration 0018 grants lrs_hub what the hub needs
-- (read and write every table, only append to audit_log) and nothing more; `hub migrate` runs
-- as the owner (postgres), the hub never does.
CREATE ROLE lrs_hub NOLOGIN;
CREATE ROLE hub LOGIN PASSWORD 'lrs-hub' IN ROLE lrs_hub;
