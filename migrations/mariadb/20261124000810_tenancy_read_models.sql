-- Tenancy read models (MariaDB), maintained by projections/tenancyview from the configuration
-- events: the hot lookups of submission (credential by SMTP username, by API key hash, SMTP-IP
-- ranges; a server's domains and settings) without reading streams. Admin commands still read
-- their own writes from the event streams. Rebuildable by replay.

-- +goose Up
CREATE TABLE tenancy_servers (
    id                  VARCHAR(191) NOT NULL,
    org_id              VARCHAR(64)  NOT NULL,
    name                VARCHAR(64)  NOT NULL,
    mode                VARCHAR(16)  NOT NULL,
    send_limit_per_hour INT          NOT NULL,
    retention_days      INT          NOT NULL,
    PRIMARY KEY (id),
    KEY tenancy_servers_org (org_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE tenancy_domains (
    name      VARCHAR(191) NOT NULL,
    server_id VARCHAR(191) NOT NULL,
    verified  BOOLEAN      NOT NULL,
    PRIMARY KEY (name),
    KEY tenancy_domains_server (server_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE tenancy_credentials (
    id         VARCHAR(64)  NOT NULL,
    server_id  VARCHAR(191) NOT NULL,
    type       VARCHAR(16)  NOT NULL,
    name       VARCHAR(255) NOT NULL,
    username   VARCHAR(191) NOT NULL,
    hash       VARCHAR(128) NOT NULL,
    key_prefix VARCHAR(16)  NOT NULL,
    cidr       VARCHAR(64)  NOT NULL,
    hold       BOOLEAN      NOT NULL,
    revoked    BOOLEAN      NOT NULL,
    PRIMARY KEY (id),
    KEY tenancy_credentials_server (server_id),
    KEY tenancy_credentials_username (username),
    KEY tenancy_credentials_hash (hash),
    KEY tenancy_credentials_type (type, revoked)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE tenancy_users (
    email         VARCHAR(191) NOT NULL,
    admin         BOOLEAN      NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    PRIMARY KEY (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE tenancy_memberships (
    email  VARCHAR(191) NOT NULL,
    org_id VARCHAR(64)  NOT NULL,
    role   VARCHAR(16)  NOT NULL,
    PRIMARY KEY (email, org_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
