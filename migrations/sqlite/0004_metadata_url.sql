-- SAML metadata URL refresh (rambridge extension): an optional https URL re-fetched on a
-- schedule for signing-certificate rollover. Nullable columns only, so existing rows need no
-- backfill. metadata_refreshed_at is the time of the last refresh attempt (success or failure);
-- metadata_refresh_error is NULL after a success and holds why the last attempt failed otherwise
-- (the last good document, entityID and certificates are then kept).

ALTER TABLE saml_providers ADD COLUMN metadata_url TEXT;
ALTER TABLE saml_providers ADD COLUMN metadata_refreshed_at BIGINT;
ALTER TABLE saml_providers ADD COLUMN metadata_refresh_error TEXT;

-- The refresher's scan: providers with a URL, oldest attempt first.
CREATE INDEX saml_providers_metadata_refresh ON saml_providers (metadata_refreshed_at)
    WHERE metadata_url IS NOT NULL;
