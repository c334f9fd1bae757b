-- Tenancy read models (SQLite), maintained by projections/tenancyview from the configuration
-- events: the hot lookups of submission (credential by SMTP username, by API key hash, SMTP-IP
-- ranges; a server's domains and settings) without reading streams. Admin commands still read
-- their own writes from the event streams. Rebuildable by replay.

-- +goose Up
CREATE TABLE tenancy_servers (
    id                  TEXT    NOT NULL PRIMARY KEY,
    org_id              TEXT    NOT NULL,
    name                TEXT    NOT NULL,
    mode                TEXT    NOT NULL,
    send_limit_per_hour INTEGER NOT NULL,
    retention_days      INTEGER NOT NULL
);
CREATE INDEX tenancy_servers_org ON tenancy_servers (org_id);

CREATE TABLE tenancy_domains (
    name      TEXT    NOT NULL PRIMARY KEY,
    server_id TEXT    NOT NULL,
    verified  INTEGER NOT NULL
);
CREATE INDEX tenancy_domains_server ON tenancy_domains (server_id);

CREATE TABLE tenancy_credentials (
    id         TEXT    NOT NULL PRIMARY KEY,
    server_id  TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    username   TEXT    NOT NULL,
    hash       TEXT    NOT NULL,
    key_prefix TEXT    NOT NULL,
    cidr       TEXT    NOT NULL,
    hold       INTEGER NOT NULL,
    revoked    INTEGER NOT NULL
);
CREATE INDEX tenancy_credentials_server ON tenancy_credentials (server_id);
CREATE INDEX tenancy_credentials_username ON tenancy_credentials (username);
CREATE INDEX tenancy_credentials_hash ON tenancy_credentials (hash);
CREATE INDEX tenancy_credentials_type ON tenancy_credentials (type, revoked);

CREATE TABLE tenancy_users (
    email         TEXT    NOT NULL PRIMARY KEY,
    admin         INTEGER NOT NULL,
    password_hash TEXT    NOT NULL
);

CREATE TABLE tenancy_memberships (
    email  TEXT NOT NULL,
    org_id TEXT NOT NULL,
    role   TEXT NOT NULL,
    PRIMARY KEY (email, org_id)
);
