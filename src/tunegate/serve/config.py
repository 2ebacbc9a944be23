"""Server settings, shared by `tunegate serve` and the Python API, and the rule that a server
reachable from other machines must require an API key."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

from tunegate.errors import TunegateError

__all__ = ["API_KEY_ENV", "ServeConfig", "is_loopback"]

API_KEY_ENV = "TUNEGATE_API_KEY"


@dataclass(frozen=True)
class ServeConfig:
    """How the server listens and how much it accepts."""

    host: str = field(default="127.0.0.1", metadata={"help": "Address to bind."})
    port: int = field(default=8000, metadata={"help": "Port to bind (0: any free port)."})
    api_key: str | None = field(
        default=None,
        metadata={
            "help": f"Bearer token clients must send; required off loopback (env {API_KEY_ENV})."
        },
    )
    max_batch: int = field(default=32, metadata={"help": "Most requests decoded together."})
    queue: int = field(
        default=256, metadata={"help": "Most requests waiting for a batch; beyond it, 429."}
    )
    max_tokens_cap: int = field(
        default=512,
        metadata={"help": "Largest max_tokens a request may ask for (also the default)."},
    )
    timeout_s: float = field(
        default=120.0, metadata={"help": "Seconds a request may take, queue included; then 408."}
    )
    max_body_bytes: int = field(
        default=1_000_000, metadata={"help": "Largest request body accepted; beyond it, 413."}
    )
    engine: str = field(
        default="llamacpp",
        metadata={
            "help": "llamacpp (llama.cpp in-process; torch when it cannot run the model) or "
            "torch (the reference loop)."
        },
    )
    lora_api: bool = field(
        default=True,
        metadata={
            "help": "Accept POST /v1/load_lora_adapter (vLLM's runtime LoRA API): a client "
            "names an adapter folder on this machine to serve."
        },
    )
    batch_wait_ms: float = field(
        default=10.0,
        metadata={"help": "How long the batcher waits for more requests when it has few."},
    )

    def __post_init__(self) -> None:
        for name in ("max_batch", "queue", "max_tokens_cap", "max_body_bytes"):
            if getattr(self, name) < 1:
                raise TunegateError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.timeout_s <= 0 or self.batch_wait_ms < 0:
            raise TunegateError("timeout must be positive and batch wait not negative")
        if not 0 <= self.port <= 65535:
            raise TunegateError(f"port must be in 0..65535, got {self.port}")

    def key(self) -> str | None:
        """The API key: the setting, else the environment variable, else None."""
        return self.api_key or os.environ.get(API_KEY_ENV) or None

    def check_bind(self) -> None:
        """Refuse to listen beyond loopback without an API key (one-line error)."""
        if not is_loopback(self.host) and not self.key():
            raise TunegateError(
                f"refusing to bind {self.host} without an API key: it is reachable from other "
                f"machines; pass --api-key or set {API_KEY_ENV} (or bind 127.0.0.1)"
            )


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere
