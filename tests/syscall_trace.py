"""Reading ``strace`` output: every socket address a traced process tried to reach.

``strace -e trace=connect,sendto,sendmsg`` prints addresses as ``sa_family=AF_INET, ...
sin_addr=inet_addr("10.0.0.1")`` or ``sa_family=AF_INET6, ... inet_pton(AF_INET6, "::1", ...)``.
Loopback (and the unspecified address, which Linux routes to this machine) is allowed; anything
else is an attempt to leave the machine, whether or not it succeeded.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

_CALL = re.compile(
    r"^(?:\[pid\s+)?(?P<pid>\d+)\]?\s+(?P<call>connect|sendto|sendmsg)\((?P<rest>.*)$"
)
_INET4 = re.compile(
    r'sa_family=AF_INET,\s*sin_port=htons\((?P<port>\d+)\),\s*sin_addr=inet_addr\("(?P<addr>[^"]+)"\)'
)
_INET6 = re.compile(
    r'sa_family=AF_INET6,\s*sin6_port=htons\((?P<port>\d+)\).*?inet_pton\(AF_INET6,\s*"(?P<addr>[^"]+)"'
)


@dataclass(frozen=True)
class Attempt:
    """One system call that addressed a non-loopback host."""

    pid: int
    call: str
    address: str
    port: int

    def __str__(self) -> str:
        return f"{self.call} to {self.address}:{self.port} (pid {self.pid})"


def _local(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    ip = mapped or ip
    return ip.is_loopback or ip.is_unspecified


def outside_attempts(trace: str) -> list[Attempt]:
    """The calls in ``trace`` (strace output) that addressed a host other than this machine."""
    found: list[Attempt] = []
    for line in trace.splitlines():
        match = _CALL.match(line.strip())
        if not match:
            continue
        for pattern in (_INET4, _INET6):
            for address in pattern.finditer(match.group("rest")):
                if not _local(address.group("addr")):
                    found.append(
                        Attempt(
                            int(match.group("pid")),
                            match.group("call"),
                            address.group("addr"),
                            int(address.group("port")),
                        )
                    )
    return found


def inet_calls(trace: str) -> int:
    """How many traced calls addressed any IP socket (loopback included): proof of tracing."""
    return sum(
        1 for line in trace.splitlines() if _CALL.match(line.strip()) and ("AF_INET" in line)
    )


def read_attempts(path: Path) -> list[Attempt]:
    """``outside_attempts`` of the trace file at ``path``."""
    return outside_attempts(path.read_text(encoding="utf-8", errors="replace"))
