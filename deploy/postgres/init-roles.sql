-- Roles for the Docker stack; scripts/bootstrap/postgres.sh does the same on a bare machine.
CREATE ROLE ledgerline_owner LOGIN PASSWORD 'ledgerline_owner';
CREATE ROLE ledgerline_app LOGIN PASSWORD 'ledgerline_app' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
ALTER DATABASE ledgerline OWNER TO ledgerline_owner;
\connect ledgerline
ALTER SCHEMA public OWNER TO ledgerline_owner;
GRANT CONNECT ON DATABASE ledgerline TO ledgerline_app;
GRANT USAGE ON SCHEMA public TO ledgerline_app;
