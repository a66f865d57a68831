"""`broadcaster keys show|rotate|retire|publish`: the server's signing keys."""

from __future__ import annotations

import click

from broadcaster.config import Settings


@click.group()
def keys() -> None:
    """The server's Ed25519 signing keys and the list agents trust (rotation: docs/protocol.md)."""


def _publish_keys(settings: Settings, payload: bytes) -> None:
    """Publish a signed keys list, retained, QoS 1, and wait for the broker's PUBACK."""
    from broadcaster.mqtt import Link, PublishError, unique_client_id
    from broadcaster.wire.topics import Topics

    conn = Link(settings.mqtt_options(), unique_client_id("keys"))
    try:
        if not conn.start(wait=10):
            raise click.ClickException(
                f"MQTT broker {settings.mqtt_host}:{settings.mqtt_port} not reachable"
            )
        conn.publish(Topics(settings.topic_root).keys(), payload, qos=1, retain=True)
    except PublishError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        conn.stop()


@keys.command("show")
@click.pass_context
def keys_show(ctx: click.Context) -> None:
    """Print the active key and the trusted list (creates the key pair if missing)."""
    from broadcaster.keys import KeyRing

    ring = KeyRing(ctx.obj.settings.signing_key_file)
    signer = ring.active()
    click.echo(f"key id: {signer.kid}")
    click.echo(f"public key: {signer.public_b64}")
    info = ring.describe()
    click.echo(f"trusted keys (version {info['version']}):")
    for key in info["keys"]:
        click.echo(f"  {key['kid']} {key['public']}{'  (active)' if key['active'] else ''}")


@keys.command("rotate")
@click.option("--ttl-days", default=365, show_default=True, help="Lifetime of the keys message.")
@click.pass_context
def keys_rotate(ctx: click.Context, ttl_days: int) -> None:
    """Make a new signing key; tell every agent (list signed by the current key), then sign
    with the new one. The old key stays trusted until `keys retire`."""
    from datetime import timedelta

    from broadcaster.keys import KeyRing

    settings = ctx.obj.settings
    ring = KeyRing(settings.signing_key_file)
    rotation = ring.begin_rotation(ctx.obj.clock.now(), timedelta(days=ttl_days))
    _publish_keys(settings, rotation.message)
    ring.finish_rotation(rotation)
    click.echo(f"published trusted keys v{rotation.update.version} (signed by {rotation.old.kid})")
    click.echo(f"signing key is now {rotation.new.kid}; {rotation.old.kid} stays trusted")
    click.echo(
        "when every site reports this keys_version, run: "
        f"broadcaster keys retire {rotation.old.kid}"
    )


@keys.command("retire")
@click.argument("kid")
@click.option("--ttl-days", default=365, show_default=True, help="Lifetime of the keys message.")
@click.pass_context
def keys_retire(ctx: click.Context, kid: str, ttl_days: int) -> None:
    """Stop trusting key KID (publishes the list without it, signed by the active key)."""
    from datetime import timedelta

    from broadcaster.keys import KeyRing

    settings = ctx.obj.settings
    ring = KeyRing(settings.signing_key_file)
    try:
        update, message = ring.retire(kid, ctx.obj.clock.now(), timedelta(days=ttl_days))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    _publish_keys(settings, message)
    ring.record(update)
    click.echo(f"published trusted keys v{update.version} without {kid}")


@keys.command("publish")
@click.pass_context
def keys_publish(ctx: click.Context) -> None:
    """Publish the current trusted list again (retained), e.g. after a broker was rebuilt."""
    from broadcaster.keys import KeyRing

    settings = ctx.obj.settings
    ring = KeyRing(settings.signing_key_file)
    update, message = ring.current_message(ctx.obj.clock.now())
    _publish_keys(settings, message)
    ring.record(update)
    click.echo(f"published trusted keys v{update.version} ({len(update.keys)} key(s))")
