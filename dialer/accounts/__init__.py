"""People: accounts and their roles, how they sign in, and the audit trail of what they did.
Storage is dialer.engine.accounts; the console enforces the roles (dialer.web.access)."""
