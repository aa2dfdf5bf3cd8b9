"""Reaching the Hugging Face hub: a quick reachability probe, so that offline runs fail in seconds with a
hint instead of retrying for minutes."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse


def offline_mode() -> bool:
    """The user asked the Hugging Face libraries to use their local cache only."""
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def hub_reachable(timeout: float = 3.0) -> bool:
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False
