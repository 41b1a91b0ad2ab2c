"""Versioned migration scripts, applied in revision order by ``leadscore.store.events.upgrade_schema``."""
