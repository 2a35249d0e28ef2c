"""A fleet simulator: N agents in one process, speaking the real agent protocol to a controller.

    python tests/bench/fleet.py --server http://127.0.0.1:8742 \\
        --access-key-id ID --access-key-secret SECRET --agents 1000 [--delay 0] [--duration 60]

It creates activations (CreateActivation, at most 1000 instances each), registers the agents
concurrently, then holds one long-poll open per agent and answers every task it is given with
`started`, `output` and `finished` reports through the real endpoints (see
assistcli/api/agent.py). Nothing runs: a script's output is what its `echo` lines would print
(`echo 123` -> "123\\n"); anything else prints nothing. Every task ends in Success after
`--delay` seconds.

Each agent has one keep-alive HTTP/1.1 connection (asyncio streams; a held poll's answer comes
chunked, after the controller's keep-alive newlines) and uses it for everything, one request at
a time: it polls, runs what the poll brought, reports, and polls again. The first poll asks for
no wait (it confirms the agent is connected); the second waits a random part of `--poll-wait`,
so that a fleet started at once does not poll in lockstep; later polls wait `--poll-wait`
seconds, as agentd does.

Benchmarks import it: `Fleet(...)`, `await fleet.start()`, `fleet.counters`, `await fleet.stop()`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import shlex
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).parents[2]))  # the project, when run from a checkout

from assistcli.api import agent as proto
from assistcli.client import ApiClient

ACTIVATION_LIMIT = 1000  # instances one CreateActivation admits
HEAD_LIMIT = 64 * 1024
IDLE_LIMIT = 4.0  # seconds: uvicorn closes a keep-alive connection idle for 5
ATTEMPTS = 5  # tries of a register or report before the agent gives up on it
SPARE_FDS = 200


class HttpError(Exception):
    """The request failed: no connection, no answer in time, or not HTTP."""


class Connection:
    """One keep-alive HTTP/1.1 connection, opened on first use, and again after a failure or
    when it has been idle long enough for the server to close it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._idle_since = 0.0

    async def request(
        self, method: str, target: str, body: bytes = b"", headers: str = "", within: float = 30
    ) -> tuple[int, bytes]:
        """Send one request and read its answer: (status, body). `headers`: extra header lines,
        each ending in CRLF."""
        try:
            async with asyncio.timeout(within):  # wait_for may swallow a cancel (3.11)
                return await self._exchange(method, target, body, headers)
        except (OSError, EOFError, ValueError, asyncio.LimitOverrunError, TimeoutError) as error:
            self.close()
            raise HttpError(f"{method} {target}: {error!r}") from error
        except asyncio.CancelledError:
            self.close()  # its answer may still come: the connection cannot be reused
            raise

    async def _exchange(
        self, method: str, target: str, body: bytes, headers: str
    ) -> tuple[int, bytes]:
        if self._writer is not None and time.monotonic() - self._idle_since > IDLE_LIMIT:
            self.close()
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Length: {len(body)}\r\n{headers}\r\n"
        )
        self._writer.write(head.encode("latin-1") + body)
        await self._writer.drain()
        raw = await self._reader.readuntil(b"\r\n\r\n")
        if len(raw) > HEAD_LIMIT:
            raise ValueError("response head too long")
        status_line, *lines = raw.decode("latin-1").split("\r\n")
        fields = dict(line.lower().partition(":")[::2] for line in lines if line)
        length = fields.get("content-length")
        if length is not None:
            payload = await self._reader.readexactly(int(length))
        elif fields.get("transfer-encoding", "").strip() == "chunked":
            payload = await self._chunks()  # a long poll, streamed with keep-alive newlines
        else:
            raise ValueError(f"neither Content-Length nor chunked in {status_line!r}")
        self._idle_since = time.monotonic()
        if fields.get("connection", "").strip() == "close":
            self.close()
        return int(status_line.split()[1]), payload

    async def _chunks(self) -> bytes:
        assert self._reader is not None
        parts = []
        while size := int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16):
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)
        await self._reader.readuntil(b"\r\n")  # no trailers are sent
        return b"".join(parts)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def endpoint(server: str) -> tuple[str, int]:
    """(host, port) of a controller URL, e.g. http://127.0.0.1:8742."""
    url = urlsplit(server if "://" in server else f"http://{server}")
    if url.scheme != "http" or not url.hostname:
        raise ValueError(f"not a plain-HTTP controller URL: {server!r}")
    return url.hostname, url.port or 80


class Api:
    """The signed public API over one keep-alive connection: `await Api(...).call(action, {})`."""

    def __init__(self, server: str, access_key_id: str, access_key_secret: str) -> None:
        self._signer = ApiClient(server, access_key_id, access_key_secret)
        self._connection = Connection(*endpoint(server))

    async def call(self, action: str, params: dict[str, Any], within: float = 60) -> Any:
        request = self._signer.prepare(action, params)  # fresh nonce and timestamp
        status, body = await self._connection.request("POST", f"/?{request.query}", within=within)
        answer = json.loads(body)
        if status != 200:
            raise HttpError(
                f"{action}: HTTP {status} {answer.get('Code')}: {answer.get('Message')}"
            )
        return answer

    def close(self) -> None:
        self._connection.close()


@dataclass(slots=True)
class Identity:
    instance_id: str
    secret: str


@dataclass(slots=True)
class Counters:
    """What the fleet has done so far."""

    registered: int = 0
    connected: int = 0  # agents whose first poll was answered
    polls: int = 0  # poll answers received
    tasks: int = 0  # tasks received
    finished: int = 0  # `finished` reports the controller acknowledged
    errors: int = 0  # failed requests (retried while attempts remain)
    failed_over: int = 0  # agents answered by another server after theirs failed


def echo_output(script: bytes) -> bytes:
    """What a shell would print for the script's `echo` lines; nothing for anything else."""
    printed = []
    for line in script.decode(errors="replace").splitlines():
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        if words and words[0] == "echo":
            printed.append(" ".join(words[1:]) + "\n")
    return "".join(printed).encode()


class SimulatedAgent:
    """One agent: poll, run what came instantly (or after the fleet's delay), report, poll."""

    def __init__(self, fleet: Fleet, index: int) -> None:
        self.fleet, self.index = fleet, index
        self.server = 0  # index in fleet.servers
        self.connection = Connection(*fleet.servers[0])
        self.identity: Identity | None = None
        self.facts = proto.HostFacts(
            hostname=f"fleet-{index:05d}",
            os_version="Linux fleet-simulator",
            machine_id=uuid.uuid4().hex,
            agent_version="fleet-sim",
            boot_id=str(uuid.uuid4()),
            timezone="Etc/UTC",
            interpreters=["sh"],
        ).to_wire()

    async def post(self, path: str, body: dict[str, Any], within: float = 30) -> dict[str, Any]:
        headers = "Content-Type: application/json\r\n"
        if self.identity is not None:
            headers += (
                f"{proto.INSTANCE_HEADER}: {self.identity.instance_id}\r\n"
                f"Authorization: Bearer {self.identity.secret}\r\n"
            )
        status, payload = await self.connection.request(
            "POST", path, json.dumps(body).encode(), headers, within
        )
        try:
            answer: dict[str, Any] = json.loads(payload)
        except ValueError:
            raise HttpError(f"{path}: HTTP {status} without JSON") from None
        if status != 200:
            raise HttpError(f"{path}: HTTP {status} {answer.get('Code')}: {answer.get('Message')}")
        return answer

    async def register(self, activation_id: str, code: str) -> None:
        request = {
            **self.facts,
            "activation_id": activation_id,
            "activation_code": code,
            "instance_name": f"{self.fleet.name_prefix}-{self.index:05d}",
        }
        answer = await self.fleet.retry(lambda: self.post(proto.REGISTER, request))
        self.identity = Identity(answer["instance_id"], answer["secret"])
        self.fleet.counters.registered += 1

    async def live(self, activation: tuple[str, str] | None) -> None:
        """Join (register unless known, then poll once without waiting: a few agents at a
        time, as the fleet's gate lets them), then poll and answer tasks until cancelled."""
        fleet = self.fleet
        async with fleet.gate:
            if self.identity is None:
                assert activation is not None
                await self.register(*activation)
            await fleet.retry(lambda: self.poll(0.0))
        fleet.counters.connected += 1
        waits = iter([random.uniform(0, fleet.poll_wait)])  # out of step with the others
        moving = False
        while not fleet.stopping:
            try:
                await self.poll(next(waits, fleet.poll_wait))
            except HttpError:
                fleet.counters.errors += 1
                if len(fleet.servers) == 1:
                    await asyncio.sleep(random.uniform(0.5, 1.5))
                    continue
                # As agentd: on to the next server at once; a poll without waiting says it's in.
                self.server = (self.server + 1) % len(fleet.servers)
                self.connection.close()
                self.connection = Connection(*fleet.servers[self.server])
                waits, moving = iter([0.0]), True
                continue
            if moving:
                moving = False
                fleet.counters.failed_over += 1
                async with fleet.progress:
                    fleet.progress.notify_all()

    async def poll(self, wait: float) -> None:
        body = {**self.facts, "active": [], "wait": wait}
        answer = await self.post(proto.POLL, body, within=wait + 15)
        self.fleet.counters.polls += 1
        tasks = [proto.Task.from_wire(wire) for wire in answer.get("tasks", [])]
        if tasks:
            self.fleet.counters.tasks += len(tasks)
            await self.run(tasks)

    async def run(self, tasks: Sequence[proto.Task]) -> None:
        started = [
            proto.Report(invoke_id=t.invoke_id, run=t.run, seq=0, event="started", time=time.time())
            for t in tasks
        ]
        if self.fleet.delay > 0:
            await self.report(started)
            await asyncio.sleep(self.fleet.delay)
            started = []
        ended = []
        for task in tasks:
            output = echo_output(task.script)
            now = time.time()
            ended += [
                proto.Report(
                    invoke_id=task.invoke_id,
                    run=task.run,
                    seq=1,
                    event="output",
                    time=now,
                    output=output,
                ),
                proto.Report(
                    invoke_id=task.invoke_id,
                    run=task.run,
                    seq=2,
                    event="finished",
                    time=now,
                    status="Success",
                    exit_code=0,
                ),
            ]
        answer = await self.report(started + ended)
        finished = {r.report_id for r in ended if r.event == "finished"}
        self.fleet.counters.finished += len(finished & set(answer.get("acked", [])))
        async with self.fleet.progress:
            self.fleet.progress.notify_all()

    async def report(self, reports: Sequence[proto.Report]) -> dict[str, Any]:
        body = {"reports": [r.to_wire() for r in reports]}
        try:
            return await self.fleet.retry(lambda: self.post(proto.REPORT, body))
        except HttpError:
            return {}  # given up: the run stays Running on the controller, as a lost agent's


class Fleet:
    """N simulated agents registered with, and polling, one controller."""

    def __init__(
        self,
        server: str,
        access_key_id: str,
        access_key_secret: str,
        agents: int,
        *,
        delay: float = 0.0,
        poll_wait: float = proto.POLL_WAIT,
        join_concurrency: int = 32,
        name_prefix: str = "fleet",
        fallbacks: Sequence[str] = (),
    ) -> None:
        """`fallbacks`: further controllers of the same store, tried in turn when one fails."""
        self.host, self.port = endpoint(server)
        self.servers = [endpoint(server), *(endpoint(other) for other in fallbacks)]
        self.api = Api(server, access_key_id, access_key_secret)
        self.delay, self.poll_wait, self.name_prefix = delay, poll_wait, name_prefix
        self.join_concurrency = join_concurrency
        self.gate = asyncio.Semaphore(join_concurrency)  # registrations and first polls
        self.counters = Counters()
        self.progress = asyncio.Condition()  # notified as `finished` reports are acknowledged
        self.stopping = False
        self.agents = [SimulatedAgent(self, i) for i in range(agents)]
        self._serving: list[asyncio.Task[None]] = []

    @property
    def instance_ids(self) -> list[str]:
        return [a.identity.instance_id for a in self.agents if a.identity is not None]

    async def retry(self, attempt: Any) -> Any:
        """`await attempt()`, tried up to ATTEMPTS times with growing pauses."""
        for number in range(ATTEMPTS):
            try:
                return await attempt()
            except HttpError:
                self.counters.errors += 1
                if number == ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.2 * 2**number * random.uniform(0.5, 1.5))
        raise AssertionError("unreachable")

    async def activations(self) -> list[tuple[str, str]]:
        """(ActivationId, ActivationCode) for each agent, from as few activations as can be."""
        found: list[tuple[str, str]] = []
        for first in range(0, len(self.agents), ACTIVATION_LIMIT):
            count = len(self.agents[first : first + ACTIVATION_LIMIT])
            answer = await self.api.call(
                "CreateActivation",
                {
                    "InstanceName": self.name_prefix,
                    "InstanceCount": count,
                    "Description": "fleet simulator",
                },
            )
            found += [(answer["ActivationId"], answer["ActivationCode"])] * count
        return found

    async def start(
        self, identities: Sequence[Identity] | None = None, connect_within: float = 600.0
    ) -> None:
        """Register the agents (or adopt saved `identities`), start them polling, and return
        once every agent's first poll was answered."""
        check_fds(len(self.agents))
        codes: Sequence[tuple[str, str] | None] = [None] * len(self.agents)
        if identities is None:
            codes = await self.activations()
        else:
            for agent, identity in zip(self.agents, identities, strict=True):
                agent.identity = identity
            self.counters.registered = len(identities)
        self._serving = [
            asyncio.create_task(agent.live(code))
            for agent, code in zip(self.agents, codes, strict=True)
        ]
        deadline = time.monotonic() + connect_within
        while self.counters.connected < len(self.agents):
            failed = next((t for t in self._serving if t.done()), None)
            if failed is not None:
                await self.stop()
                raise RuntimeError(f"an agent could not join: {failed.exception()!r}")
            if time.monotonic() > deadline:
                await self.stop()
                raise TimeoutError(f"{self.counters.connected} of {len(self.agents)} connected")
            await asyncio.sleep(0.05)

    async def wait_finished(self, count: int, within: float) -> bool:
        """Wait until `count` runs have been acknowledged as finished in all; False if `within`
        seconds pass first."""
        return await self.wait_until(lambda: self.counters.finished >= count, within)

    async def wait_until(self, condition: Callable[[], bool], within: float) -> bool:
        """Wait until `condition()` holds, checked as the counters move; False after `within`."""
        try:
            async with asyncio.timeout(within), self.progress:
                await self.progress.wait_for(condition)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        """Stop every agent and close its connection (within a few seconds)."""
        self.stopping = True
        for task in self._serving:
            task.cancel()
        for agent in self.agents:
            agent.connection.close()
        self.api.close()
        if self._serving:
            await asyncio.wait(self._serving, timeout=10)
        self._serving = []
        await asyncio.sleep(0)  # let the transports close


def check_fds(agents: int) -> None:
    """One socket per agent: make sure the process may open that many."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = agents + SPARE_FDS
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            raise SystemExit(f"{agents} agents need {wanted} open files; the limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


# Command line -----------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="fleet.py",
        description="Simulate N Assist agents in one process against a controller (load test).",
    )
    parser.add_argument("--server", required=True, help="controller URL, http://HOST:PORT")
    parser.add_argument("--access-key-id", required=True)
    parser.add_argument("--access-key-secret", required=True)
    parser.add_argument("--agents", type=int, default=100, help="simulated agents (default 100)")
    parser.add_argument(
        "--delay", type=float, default=0.0, help="seconds each task 'runs' (default 0)"
    )
    parser.add_argument(
        "--duration", type=float, default=60.0, help="seconds to serve once connected (default 60)"
    )
    parser.add_argument(
        "--poll-wait",
        type=float,
        default=proto.POLL_WAIT,
        help=f"seconds a poll is held open (default {proto.POLL_WAIT:.0f}, as agentd)",
    )
    parser.add_argument(
        "--join-concurrency",
        type=int,
        default=32,
        help="agents registering or making their first poll at once (default 32)",
    )
    parser.add_argument(
        "--identities",
        type=Path,
        help="JSON file of registered agents: reused if it exists, else written after registering",
    )
    args = parser.parse_args(argv)
    if args.agents < 1 or args.duration <= 0 or args.delay < 0 or args.poll_wait <= 0:
        parser.error("--agents, --duration and --poll-wait must be positive, --delay not negative")
    return args


async def serve(args: argparse.Namespace) -> Counters:
    fleet = Fleet(
        args.server,
        args.access_key_id,
        args.access_key_secret,
        args.agents,
        delay=args.delay,
        poll_wait=args.poll_wait,
        join_concurrency=args.join_concurrency,
    )
    saved = None
    if args.identities and args.identities.exists():
        saved = [Identity(**item) for item in json.loads(args.identities.read_text())]
        if len(saved) < args.agents:
            raise SystemExit(f"{args.identities} holds {len(saved)} agents, not {args.agents}")
        saved = saved[: args.agents]
    began = time.monotonic()
    try:
        await fleet.start(saved)
        if args.identities and saved is None:
            args.identities.touch(mode=0o600)  # it holds the agents' secrets
            saved_now = [asdict(agent.identity) for agent in fleet.agents if agent.identity]
            args.identities.write_text(json.dumps(saved_now))
        print(f"{args.agents} agents connected in {time.monotonic() - began:.1f} s", flush=True)
        until = time.monotonic() + args.duration
        while (left := until - time.monotonic()) > 0:
            await asyncio.sleep(min(5.0, left))
            print(f"{asdict(fleet.counters)}", flush=True)
    finally:
        await fleet.stop()
    return fleet.counters


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        counters = asyncio.run(serve(args))
    except KeyboardInterrupt:
        return
    print(f"done: {asdict(counters)}")


if __name__ == "__main__":
    main()
