"""Prometheus metrics: the counters the server's processes keep (``process``) and the gauges
read from the database at scrape time (``database``). How each process serves them:
deploy/PROVINCE.md, "Monitoring"."""
