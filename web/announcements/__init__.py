"""Write, submit, approve and reject announcements (through ``schedules.workflow``)."""
