"""Run the controller in the foreground with uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from assistcli.controller.app import create_app
from assistcli.controller.settings import Settings
from assistcli.controller.store import open_store


def serve(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    store = open_store(settings.store_url, settings.data_dir)
    config = uvicorn.Config(
        create_app(settings, store),
        host=settings.host,
        port=settings.port,
        http="h11",  # its request-line limit is settable: the SDKs put 24 KB scripts in the URL
        h11_max_incomplete_event_size=settings.max_request_line,
        access_log=False,  # the app logs one line per request, without parameters
        log_level="info",
        lifespan="on",
        timeout_graceful_shutdown=3,  # long polls end with the server instead of holding it up
    )
    uvicorn.Server(config).run()
