"""`broadcaster keys show|rotate|retire|publish`: the server's signing keys (the same
operations as the web's key page: ``broadcaster.keys``)."""

from __future__ import annotations

import getpass

import click


@click.group()
def keys() -> None:
    """The server's Ed25519 signing keys and the list agents trust (rotation: docs/protocol.md)."""


def _by() -> str:
    """Who ran the command, for the keys journal."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (a container)
        return "cli"


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
    for key in ring.keys():
        if key.state in ("next", "retired"):
            click.echo(f"{key.state}: {key.kid}")


@keys.command("rotate")
@click.option("--ttl-days", default=365, show_default=True, help="Lifetime of the keys message.")
@click.pass_context
def keys_rotate(ctx: click.Context, ttl_days: int) -> None:
    """Make a new signing key; tell every agent (list signed by the current key), then sign
    with the new one. The old key stays trusted until `keys retire`."""
    from datetime import timedelta

    from broadcaster.keys import KeyRing, KeysPublishError, broker_publisher, rotate

    settings = ctx.obj.settings
    ring = KeyRing(settings.signing_key_file)
    try:
        rotation = rotate(
            ring,
            ctx.obj.clock.now(),
            broker_publisher(settings),
            by=_by(),
            ttl=timedelta(days=ttl_days),
        )
    except KeysPublishError as exc:
        raise click.ClickException(str(exc)) from None
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

    from broadcaster.keys import KeyRing, KeysPublishError, broker_publisher, retire

    settings = ctx.obj.settings
    ring = KeyRing(settings.signing_key_file)
    try:
        update = retire(
            ring,
            kid,
            ctx.obj.clock.now(),
            broker_publisher(settings),
            by=_by(),
            ttl=timedelta(days=ttl_days),
        )
    except (ValueError, KeysPublishError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"published trusted keys v{update.version} without {kid}")


@keys.command("publish")
@click.pass_context
def keys_publish(ctx: click.Context) -> None:
    """Publish the current trusted list again (retained), e.g. after a broker was rebuilt."""
    from broadcaster.keys import KeyRing, KeysPublishError, broker_publisher, republish

    settings = ctx.obj.settings
    ring = KeyRing(settings.signing_key_file)
    try:
        update = republish(ring, ctx.obj.clock.now(), broker_publisher(settings), by=_by())
    except KeysPublishError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"published trusted keys v{update.version} ({len(update.keys)} key(s))")
