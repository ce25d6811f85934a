"""``gateway web``: the web view alone, for a host of its own that shares the case log."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.cli.base import cli, load_settings, settings_option


@cli.command(name="web")
@settings_option
@click.option("-v", "--verbose", is_flag=True, help="Log debug detail.")
def web_command(settings_file: Path | None, verbose: bool) -> None:
    """Run the web view alone; a running `gateway serve` sends the mail it queues.

    \b
    Example:
        gateway web --settings /etc/avviksgateway/gateway.toml
    """
    from werkzeug.serving import make_server

    from gateway import logs
    from gateway.daemon import Rules
    from gateway.web.factory import create_app
    from gateway.web.server import make_web

    settings = load_settings(settings_file)
    logs.setup(settings.log_format, verbose)
    web = make_web(settings, Rules(settings))
    server = make_server(web.config.host, web.config.port or 8080, create_app(web), threaded=True)
    click.echo(f"web view on http://{web.config.host}:{server.server_port}/")
    server.serve_forever()
