"""Week calendars per zone and per speaker site, and the zones' iCalendar export."""
