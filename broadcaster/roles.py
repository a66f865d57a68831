"""The roles a user can have. Imports nothing, so the CLI offers them without loading the ORM.

Who may do what is decided where it is enforced: ``schedules.workflow`` (``EDIT_ROLES``,
``APPROVE_ROLES``) and the web views' ``roles_required``; every role may read.
"""

ROLES = ("editor", "approver", "officer", "admin")
