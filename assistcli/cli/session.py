"""From global flags to a ready ApiClient: configuration, keyring, transport."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from assistcli.cli.globals import GlobalOptions

if TYPE_CHECKING:
    from assistcli.client import ApiClient, Transport
    from assistcli.config import Settings
    from assistcli.trust import Trust

PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")


def settings(options: GlobalOptions) -> Settings:
    """Endpoint, key pair, region and timeouts, by the documented precedence."""
    from assistcli import config
    from assistcli.cli import keystore
    from assistcli.paths import data_dir

    return config.resolve(
        options.overrides(),
        env=os.environ,
        data_dir=data_dir(),
        secret_lookup=keystore.lookup,
    )


def checked_settings(options: GlobalOptions) -> Settings:
    """`settings`, warning on stderr when certificates go unchecked."""
    return warned(settings(options))


def warned(resolved: Settings) -> Settings:
    if not resolved.trust.verify:
        import click

        from assistcli.trust import SKIP_WARNING

        click.echo(SKIP_WARNING, err=True)
    return resolved


def client(options: GlobalOptions) -> ApiClient:
    return client_for(settings(options))


def client_for(resolved: Settings) -> ApiClient:
    from assistcli.client import ApiClient

    warned(resolved)
    return ApiClient(
        resolved.endpoint,
        resolved.access_key_id,
        resolved.access_key_secret,
        region_id=resolved.region_id,
        timeout=resolved.read_timeout,
        connect_timeout=resolved.connect_timeout,
        retries=resolved.retry_count,
        transport=transport_for(resolved.endpoint, resolved.trust),
    )


def transport_for(endpoint: str, trust: Trust) -> Transport:
    """A bare socket for plain HTTP without a proxy (much faster to start); requests otherwise."""
    from assistcli.client import PlainHttpTransport, RequestsTransport

    plain = "://" not in endpoint or endpoint.startswith("http://")
    if plain and not any(os.environ.get(name) for name in PROXY_VARIABLES):
        return PlainHttpTransport()
    return RequestsTransport(trust)
