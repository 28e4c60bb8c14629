"""How an SMS leaves the application: one generic HTTP gateway (most SMS providers take a JSON POST with a
token) and a file driver for development, chosen by configuration (``gateway_from_config``).

``send(phone, text)`` returns the gateway's id for the message or raises ``GatewayError`` with a short reason (an
HTTP status, a timeout): the sender then keeps the message for a later attempt.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from mhi.core import clock


class GatewayError(Exception):
    """The gateway did not take the message; the text says why (kept as the message's last error)."""


class HttpGateway:
    """POST ``{"to": E.164, "text": …, "from": sender}`` as JSON to ``url`` with ``Authorization: Bearer token``;
    any 2xx answer is a success (its JSON ``id``, when there is one, is kept)."""

    def __init__(self, url: str, token: str = "", sender: str = "", timeout: float = 10.0):
        if not url.startswith(("http://", "https://")):
            raise ValueError("the SMS gateway URL must start with http:// or https://")
        self.url, self.token, self.sender, self.timeout = url, token, sender, timeout

    def send(self, phone: str, text: str) -> str:
        """Hand one message to the gateway."""
        data = json.dumps({"to": phone, "text": text, "from": self.sender}).encode("utf-8")
        request = urllib.request.Request(self.url, data=data, method="POST")
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - configured URL
                body = response.read(10_000)
        except urllib.error.HTTPError as exc:
            raise GatewayError(f"the gateway answered HTTP {exc.code}") from exc
        except (TimeoutError, OSError) as exc:  # URLError is an OSError; a read timeout is a TimeoutError
            reason = getattr(exc, "reason", exc)
            raise GatewayError(f"the gateway could not be reached ({reason})") from exc
        try:
            answer = json.loads(body or b"{}")
        except ValueError:
            answer = {}
        return str(answer.get("id", "")) if isinstance(answer, dict) else ""


class FileGateway:
    """Development: each message appended as one JSON line to a file (nothing leaves the machine)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def send(self, phone: str, text: str) -> str:
        """Write the message down."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = {"to": phone, "text": text, "at": clock.now().isoformat(timespec="seconds")}
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            position = out.tell()
        return f"file:{position}"


def gateway_from_config(config, instance_path: str):
    """The gateway the configuration names: ``SMS_GATEWAY`` = "http" (``SMS_URL``, ``SMS_TOKEN``, ``SMS_SENDER``)
    or "file" (``SMS_FILE``, default instance/sms-outbox.jsonl); environment variables ``MHI_SMS_…`` win."""

    def setting(name: str, default: str = "") -> str:
        return os.environ.get(f"MHI_{name}") or str(config.get(name) or default)

    kind = setting("SMS_GATEWAY", "file")
    if kind == "http":
        return HttpGateway(setting("SMS_URL"), setting("SMS_TOKEN"), setting("SMS_SENDER"))
    if kind == "file":
        return FileGateway(setting("SMS_FILE", str(Path(instance_path) / "sms-outbox.jsonl")))
    raise ValueError(f"unknown SMS gateway {kind!r} (http or file)")
