"""Provisioning sites: MQTT credentials, ACL, TLS material and the agent bundle for a Pi.

``broadcaster sites provision SITE`` (on the server):

1. makes a random MQTT password for ``agent-<site>``, stores only its hash in the broker's
   password file (``mosquitto_passwd``; the plain text goes into the bundle and nowhere else),
2. records the site and its zones in ``agents.json`` in the broker directory and regenerates the
   whole ACL from it (the rules of :func:`broadcaster.broker.acl_lines`: an agent reads only its
   site's and its zones' server topics and the keys list, and writes only its own status and
   events),
3. writes the agent bundle: ``agent.toml`` (site, zones, broker, credentials, trusted keys),
   ``trusted-keys.json`` and, with TLS, ``ca.crt``; ``deploy/pi/install.sh`` installs it.

Then reload Mosquitto (SIGHUP re-reads the password and ACL files). The broker directory
(``--broker-dir``, ``$BROADCASTER_BROKER_DIR``) is what ``deploy/mosquitto/broadcaster.conf``
points at: ``passwd``, ``acl``, ``agents.json``, ``ca.crt``, ``server.crt``, ``server.key``.
``sites tls-init`` makes a CA and a server certificate with ``cryptography`` (or bring your own).

Modules: ``base`` (paths, ProvisionError), ``broker_files`` (password file, ACL, agents.json,
``mosquitto_conf``), ``bundle`` (``provision_site``), ``tls`` (CA and server certificate) and
``cli`` (the ``broadcaster sites`` commands). Import each name from its module.
"""
