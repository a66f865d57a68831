"""The roles a user can have, and which of them may write and approve. Imports nothing, so the
CLI offers them without loading the ORM.

Who may do what is enforced in ``schedules.workflow`` and the web views' ``roles_required``, by
these sets; every role may read.
"""

ROLES = ("editor", "approver", "officer", "admin")
EDIT_ROLES = ("editor", "admin")
APPROVE_ROLES = ("approver", "admin")
