"""Partners: organisations, their sites, contacts and contact tiers, and API credentials."""
