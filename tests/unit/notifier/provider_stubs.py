"""Local stand-ins for the WhatsApp Cloud API (Graph) and Twilio's Messages API, for testing
the real senders without the network.

One threaded `http.server` on 127.0.0.1 (a free port) records every request exactly as
received (method, path, headers, body) and answers as each provider documents:

- `POST /{version}/{phone_number_id}/messages` (JSON, `Authorization: Bearer <token>`):
  `{"messaging_product": "whatsapp", "contacts": [...], "messages": [{"id": "wamid..."}]}`;
  a wrong token: 401 with Graph's `OAuthException` code 190.
- `POST /2010-04-01/Accounts/{sid}/Messages.json` (form, HTTP Basic `sid:token`): 201 with
  a Message resource (`SM...`, `status: queued`); wrong credentials: 401, code 20003; a body
  over 1600 characters: 400, code 21617, as Twilio answers.

Tests push scripted answers with `script(provider, *answers)` ("whatsapp" or "twilio");
they are served first, in order, before the default behaviour.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from tests.local_server import LocalServer, send_json

Provider = Literal["whatsapp", "twilio"]
WHATSAPP_PATH = re.compile(r"^/(v\d+\.\d+)/(\d+)/messages$")
TWILIO_PATH = re.compile(r"^/2010-04-01/Accounts/(AC\w+)/Messages\.json$")
ACCESS_TOKEN = "EAAG-test-access-token"
ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "twilio-test-auth-token"


@dataclass(frozen=True)
class Recorded:
    """One request as the stub received it; header names are lower-cased."""

    provider: Provider
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def form(self) -> dict[str, str]:
        """The form fields, each sent once."""
        fields = parse_qs(self.body.decode(), keep_blank_values=True)
        assert all(len(v) == 1 for v in fields.values()), fields
        return {k: v[0] for k, v in fields.items()}


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def graph_error(status: int, code: int, message: str,
                headers: dict[str, str] | None = None) -> Answer:
    """An error shaped like the Graph API's."""
    return Answer(status, {"error": {"message": message, "type": "OAuthException",
                                     "code": code, "fbtrace_id": "AbCdEf"}}, headers or {})


def twilio_error(status: int, code: int, message: str,
                 headers: dict[str, str] | None = None) -> Answer:
    """An error shaped like Twilio's REST API's."""
    return Answer(status, {"code": code, "message": message, "status": status,
                           "more_info": f"https://www.twilio.com/docs/errors/{code}"},
                  headers or {})


class MessagingStub:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._scripts: dict[Provider, deque[Answer]] = {"whatsapp": deque(), "twilio": deque()}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                answer = stub.answer(self.command, urlsplit(self.path).path,
                                     {k.lower(): v for k, v in self.headers.items()}, body)
                send_json(self, answer.status, answer.body, answer.headers)

        self._server = LocalServer(Handler, "messaging-stub")

    @property
    def url(self) -> str:
        return self._server.url

    def __enter__(self) -> MessagingStub:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(None, None, None)

    def script(self, provider: Provider, *answers: Answer) -> None:
        with self._lock:
            self._scripts[provider].extend(answers)

    def sent(self, provider: Provider) -> list[Recorded]:
        return [r for r in self.requests if r.provider == provider]

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if WHATSAPP_PATH.match(path):
            provider: Provider = "whatsapp"
        elif TWILIO_PATH.match(path):
            provider = "twilio"
        else:
            return Answer(404, {"error": f"no route {method} {path}"})
        with self._lock:
            self.requests.append(Recorded(provider, method, path, headers, body))
            if self._scripts[provider]:
                return self._scripts[provider].popleft()
            number = next(self._ids)
        if provider == "whatsapp":
            return self._whatsapp(headers, body, number)
        return self._twilio(path, headers, body, number)

    def _whatsapp(self, headers: dict[str, str], body: bytes, number: int) -> Answer:
        if headers.get("authorization") != f"Bearer {ACCESS_TOKEN}":
            return graph_error(401, 190, "Invalid OAuth access token - Cannot parse token")
        to = json.loads(body)["to"]
        return Answer(200, {"messaging_product": "whatsapp",
                            "contacts": [{"input": to, "wa_id": to}],
                            "messages": [{"id": f"wamid.STUB{number:04d}"}]})

    def _twilio(self, path: str, headers: dict[str, str], body: bytes, number: int) -> Answer:
        expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if headers.get("authorization") != f"Basic {expected}":
            return twilio_error(401, 20003, "Authenticate")
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if len(form.get("Body", "").encode("utf-16-le")) // 2 > 1600:
            return twilio_error(400, 21617, "The concatenated message body exceeds the 1600 "
                                            "character limit.")
        sid = f"SM{number:032x}"
        return Answer(201, {"sid": sid, "account_sid": ACCOUNT_SID, "to": form.get("To"),
                            "from": form.get("From"), "body": form.get("Body"),
                            "status": "queued", "num_segments": "1", "direction":
                            "outbound-api", "api_version": "2010-04-01",
                            "uri": f"{path.removesuffix('.json')}/{sid}.json"})
