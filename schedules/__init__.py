"""The programme: communes, zones and sites, the announcement workflow, plans and the
scheduler runtime."""
