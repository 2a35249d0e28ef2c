"""Controller settings, fixed at start-up and passed down explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

AGENT_KEEPALIVE = 45.0  # seconds between the newlines of a streamed long poll
# What a client may take of the controller's connections (see docs/controller.md).
HEAD_TIMEOUT = 10.0  # seconds from a connection's accept, or a request's first byte, to its head
BODY_TIMEOUT = 30.0  # seconds from a request's head to the end of its body: agents give up then
IDLE_TIMEOUT = 5.0  # seconds a kept-alive connection may wait for its next request
MAX_CONNECTIONS = 20_000  # twice the benchmarked fleet, each agent holding a poll open
HEARTBEAT_WINDOW = 120.0  # seconds: an agent that polled within this long counts as connected
OUTPUT_CAP = 16 * 1024 * 1024  # bytes of each run's whole output kept beside its record
OUTPUT_RETENTION = 7 * 24 * 3600.0  # seconds that output is kept


@dataclass(frozen=True, slots=True)
class TlsPair:
    cert: Path  # PEM: the server's certificate, then any intermediates
    key: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8742
    store_url: str | None = None  # default: SQLite in data_dir
    tls: TlsPair | None = None  # HTTPS with this certificate and key; None: plain HTTP
    delivery_timeout: float = 60.0  # seconds a record may stay Pending before it is Aborted
    max_clock_skew: float = 900.0  # seconds a signed request's timestamp may be off
    max_commands: int = 50_000  # CmdCount.ExceedQuota beyond this
    max_request_line: int = 1024 * 1024  # long URLs carry 24 KB of Base64 content
    # A form body carries what a URL may; the largest legal request (a 32 KB file, 100
    # instances, 20 tags) is a few hundred KB percent-encoded.
    max_request_body: int = 1024 * 1024
    head_timeout: float = HEAD_TIMEOUT
    body_timeout: float = BODY_TIMEOUT
    idle_timeout: float = IDLE_TIMEOUT
    max_connections: int = MAX_CONNECTIONS
    lease: float = 30.0  # seconds a delivered task may go unacknowledged before redelivery
    heartbeat_window: float = HEARTBEAT_WINDOW
    agent_keepalive: float = AGENT_KEEPALIVE
    tasks_per_poll: int = 32
    silent_agent_grace: float = 600.0  # past a run's timeout, and without a poll, it is lost
    full_collection_interval: float = 300.0  # seconds between full garbage collections
    misfire_grace: float = 60.0  # a fire missed by more than this is skipped, not run late
    client_token_keep: float = 24 * 3600.0  # seconds a ClientToken's result is replayed
    # Seconds after which an unfinished ClientToken claim is taken to belong to a request that
    # died (a controller killed mid-request): a retry then runs afresh.
    client_token_stale: float = 60.0
    # Where error bodies' Recommend links point (CODE appended as #CODE); empty: the
    # controller's own page of error codes, at the address the client used.
    docs_url: str = ""
    # DescribeInvocationResults also answers the 2017 shape, Invocation.ResultLists.ResultItem
    # (a second copy of every Output): see docs/controller.md.
    legacy_result_lists: bool = False
    output_cap: int = OUTPUT_CAP  # 0: keep only what records show (their head and tail)
    output_retention: float = OUTPUT_RETENTION
