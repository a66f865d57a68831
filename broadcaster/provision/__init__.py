"""Provisioning sites: MQTT credentials, the broker's rules, TLS material and the agent bundle
for a Pi.

``broadcaster sites provision SITE`` (on the server), or ``--from sites.csv`` for many at once
(the file's rows checked first and its sites added to the database: ``sites_csv``,
``site_records``):

1. makes a random MQTT password for ``agent-<site>`` (a re-run from a file keeps the one in the
   site's bundle) and keeps only its hash in the broker's files (``passwords``: Mosquitto's
   ``$7$`` or bcrypt for NATS, made in-process; the plain text goes into the bundle only),
2. records the site and its zones in ``agents.json`` in the broker directory and regenerates the
   rules from it (Mosquitto: the ACLs, from :func:`broadcaster.broker.acl_lines`; NATS: a users
   file from :func:`broadcaster.nats_cluster.nats_permissions`; an agent reads only its site's
   and its zones' server topics and the keys list, and writes only its own status and events),
3. writes the agent bundle: ``agent.toml`` (site, zones, broker, credentials, trusted keys),
   ``trusted-keys.json`` and, with TLS, ``ca.crt``; ``deploy/pi/install.sh`` installs it.

All of a run's files are written first and renamed into place together (``staged``). Then
reload the broker (SIGHUP re-reads the password and rule files). The broker directory
(``--broker-dir``, ``$BROADCASTER_BROKER_DIR``) and its kind (``broker_kind``) are settings;
deploy/BROKERS.md has the steps for each broker. ``sites tls-init`` makes a CA and a server
certificate with ``cryptography`` (or bring your own).

Modules: ``base`` (paths, ProvisionError), ``broker_files`` (``BrokerDir``, Mosquitto's
``BrokerFiles`` and ``mosquitto_conf``), ``nats_files`` (``NatsFiles``), ``kinds`` (a kind by
name), ``passwords``, ``staged``, ``bundle`` (``provision_sites``, ``provision_site``),
``sites_csv``, ``site_records``, ``tls`` (CA and server certificate) and ``cli`` (the
``broadcaster sites`` commands). Import each name from its module.
"""
