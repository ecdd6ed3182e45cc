-- A copied (neutralized) database must not call production services with
-- production credentials: wipe every stored secret.
DELETE FROM ipai_gateway_secret;
