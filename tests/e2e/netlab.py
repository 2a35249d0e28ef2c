"""Separate hosts on one machine: network namespaces joined by veth pairs to a bridge.

The controller's host and each agent's host are namespaces the tests create (and remove): a
namespace `<lab>-hub` holds a bridge with the controller's address; each host namespace gets a
veth pair whose other end is on the bridge. Nothing is routed anywhere else, and no address is
added outside the lab's namespaces. Creating namespaces needs root (CI runs as root); where that
is impossible the tests say why and skip.

    with NetLab.create(hosts=2) as lab:
        lab.run(lab.hub, ["python3", ...])        # a command on the controller's host
        lab.popen(lab.hosts[0], [...])           # a process on the first agent's host
        lab.cut(lab.hosts[0]); lab.restore(lab.hosts[0])   # link down, link up
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

SUBNET = "10.253.{n}"  # a /24 per lab, inside the lab's own namespaces only


@dataclass
class Host:
    namespace: str
    address: str
    link: str  # its veth end on the hub's bridge (named in the hub namespace)


@dataclass
class NetLab:
    name: str
    hub: Host  # the controller's host
    hosts: list[Host] = field(default_factory=list)

    @classmethod
    def unavailable(cls) -> str | None:
        """Why namespaces cannot be made here, or None."""
        if os.geteuid() != 0:
            return "network namespaces need root"
        if shutil.which("ip") is None:
            return "iproute2 (`ip`) is not installed"
        probe = f"asst-probe-{uuid.uuid4().hex[:6]}"
        made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
        if made.returncode != 0:
            return f"cannot create a network namespace: {made.stderr.strip()}"
        subprocess.run(["ip", "netns", "delete", probe], capture_output=True)
        return None

    @classmethod
    @contextlib.contextmanager
    def create(cls, hosts: int) -> Iterator[NetLab]:
        reason = cls.unavailable()
        if reason is not None:
            pytest.skip(reason)
        tag = uuid.uuid4().hex[:6]
        net = SUBNET.format(n=int(tag[:2], 16) % 200 + 20)
        lab = cls(f"asst-{tag}", Host(f"asst-{tag}-hub", f"{net}.1", "br0"))
        try:
            lab._make_hub()
            for index in range(hosts):
                lab._add_host(index, f"{net}.{index + 10}")
            yield lab
        finally:
            lab.close()

    def _make_hub(self) -> None:
        ns = self.hub.namespace
        _ip("netns", "add", ns)
        self.ns_ip(ns, "link", "set", "lo", "up")
        self.ns_ip(ns, "link", "add", "br0", "type", "bridge", "forward_delay", "0")
        self.ns_ip(ns, "addr", "add", f"{self.hub.address}/24", "dev", "br0")
        self.ns_ip(ns, "link", "set", "br0", "up")

    def _add_host(self, index: int, address: str) -> None:
        ns, link = f"{self.name}-h{index}", f"h{index}"
        _ip("netns", "add", ns)
        self.ns_ip(ns, "link", "set", "lo", "up")
        # Made in the host's namespace, one end moved to the hub: nothing touches the root one.
        self.ns_ip(ns, "link", "add", "eth0", "type", "veth", "peer", "name", link)
        self.ns_ip(ns, "link", "set", link, "netns", self.hub.namespace)
        self.ns_ip(ns, "addr", "add", f"{address}/24", "dev", "eth0")
        self.ns_ip(ns, "link", "set", "eth0", "up")
        self.ns_ip(self.hub.namespace, "link", "set", link, "master", "br0")
        self.ns_ip(self.hub.namespace, "link", "set", link, "up")
        self.hosts.append(Host(ns, address, link))

    def close(self) -> None:
        for host in [*self.hosts, self.hub]:
            _kill_all(host.namespace)
            subprocess.run(["ip", "netns", "delete", host.namespace], capture_output=True)

    # Commands -------------------------------------------------------------------------------------
    @staticmethod
    def ns_ip(namespace: str, *args: str) -> None:
        _ip("-n", namespace, *args)

    @staticmethod
    def argv(host: Host, command: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", host.namespace, *command]

    def run(
        self, host: Host, command: Sequence[str], **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        kwargs.setdefault("timeout", 60)
        return subprocess.run(
            self.argv(host, command), capture_output=True, text=True, check=False, **kwargs
        )

    def popen(self, host: Host, command: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.argv(host, command), **kwargs)

    # Faults ---------------------------------------------------------------------------------------
    def cut(self, host: Host) -> None:
        """Pull the host's cable: its link on the hub goes down."""
        self.ns_ip(self.hub.namespace, "link", "set", host.link, "down")

    def restore(self, host: Host) -> None:
        self.ns_ip(self.hub.namespace, "link", "set", host.link, "up")


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _kill_all(namespace: str) -> None:
    """End every process left in a namespace (a test that failed halfway leaves some)."""
    pids = subprocess.run(
        ["ip", "netns", "pids", namespace], capture_output=True, text=True
    ).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), 9)
