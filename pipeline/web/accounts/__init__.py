"""Accounts: login, logout, password change, roles (Django groups named after the core's roles), API tokens,
the access log, and the administration pages for the system and security administrators."""
