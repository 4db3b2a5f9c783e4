"""Who may do what (the core's rules, `pipeline.records.authority`), for the faces."""
from pipeline.records.authority import (
    CONSOLE,
    PERMISSION_LABELS,
    PERMISSIONS,
    ROLE_LABELS,
    ROLES,
    SOLE_ROLES,
    PermissionRefused,
    acting_role,
    check_role_set,
    permissions_of,
    require,
    roles_allowed,
)

__all__ = ["CONSOLE", "PERMISSIONS", "PERMISSION_LABELS", "ROLES", "ROLE_LABELS", "SOLE_ROLES", "PermissionRefused",
           "acting_role", "check_role_set", "permissions_of", "require", "roles_allowed"]
