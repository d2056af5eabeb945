"""A local stand-in for the Stripe API, for testing the real adapter without the network.

A threaded `http.server` on 127.0.0.1 (a free port) that records every request exactly as
received (method, path, headers, form body) and answers the way Stripe documents:

- POST /v1/checkout/sessions -> a `checkout.session` object (`cs_test_...`, `status: open`).
- GET  /v1/checkout/sessions/{id} -> that session, or 404 `resource_missing`.
- POST /v1/checkout/sessions/{id}/expire -> the session, now `expired`; a session that is
  not open -> 400 `invalid_request_error` with Stripe's message.
- POST /v1/refunds -> a `refund` object (`re_test_...`, `status: succeeded`).
- A wrong or missing `Authorization: Bearer` key -> 401, as Stripe answers.
- Idempotency: a POST whose `Idempotency-Key` was seen before replays the saved answer
  (`Idempotent-Replayed: true`) when the body is the same, and answers 400
  `idempotency_error` when it differs. Scripted failures are not saved, like a request
  Stripe refused before executing it.

Tests push scripted answers with `script(method, path, *answers)`; they are served first,
in order, before the default behaviour.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.local_server import LocalServer, send_json

API_VERSION_HEADER = "Stripe-Version"


@dataclass(frozen=True)
class Recorded:
    """One request as the stub received it; header names are lower-cased."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]]

    def field(self, name: str) -> str:
        """The single value of a form field (`line_items[0][quantity]`)."""
        values = self.form[name]
        assert len(values) == 1, f"{name} sent {len(values)} times"
        return values[0]


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def stripe_error(status: int, type_: str, message: str, *, code: str | None = None,
                 param: str | None = None, headers: dict[str, str] | None = None) -> Answer:
    """An error answer shaped like Stripe's: `{"error": {"type", "message", "code", ...}}`."""
    error: dict[str, Any] = {"type": type_, "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return Answer(status, {"error": error}, headers or {})


def rate_limited(*, should_retry: bool | None = None) -> Answer:
    """A 429. Stripe may add `Stripe-Should-Retry` to say whether retrying at once can work;
    the SDK retries a 429 by itself only when that header says `true`."""
    headers = {} if should_retry is None else {"Stripe-Should-Retry": str(should_retry).lower()}
    return stripe_error(429, "invalid_request_error",
                        "Too many requests hit the API too quickly.", code="rate_limit",
                        headers=headers)


class StripeStub(LocalServer):
    """Start with `with StripeStub() as stub:`; point the SDK's API base at `stub.url`."""

    def __init__(self, api_key: str = "sk_test_stub_key") -> None:
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self.sessions: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self._scripts: dict[tuple[str, str], deque[Answer]] = {}
        self._idempotent: dict[str, tuple[str, str, dict[str, list[str]], Answer]] = {}
        self._lock = threading.Lock()
        self._counter = 0
        super().__init__(self._handler_class(), name="stripe-stub")

    def script(self, method: str, path: str, *answers: Answer) -> None:
        """Serve these answers, in order, to the next requests for `method path`."""
        with self._lock:
            self._scripts.setdefault((method.upper(), path), deque()).extend(answers)

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method.upper() and r.path == path]

    def add_session(self, session_id: str, status: str) -> None:
        """A session created earlier (another process, or the dashboard)."""
        with self._lock:
            self.sessions[session_id] = {"id": session_id, "object": "checkout.session",
                                         "status": status, "url": None, "expires_at": 0}

    # -- the server side ------------------------------------------------------------------

    def _next_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_test_{self._counter:024d}"

    def _answer(self, req: Recorded) -> Answer:
        with self._lock:
            self.requests.append(req)
            if req.headers.get("authorization") != f"Bearer {self.api_key}":
                return stripe_error(401, "invalid_request_error",
                                    "Invalid API Key provided: sk_test_*****")
            scripted = self._scripts.get((req.method, req.path))
            if scripted:
                return scripted.popleft()
            key = req.headers.get("idempotency-key")
            if req.method == "POST" and key and key in self._idempotent:
                method, path, form, saved = self._idempotent[key]
                if (method, path, form) != (req.method, req.path, req.form):
                    return stripe_error(
                        400, "idempotency_error",
                        "Keys for idempotent requests can only be used with the same "
                        f"parameters they were first used with. Try using a key other than "
                        f"'{key}' if you meant to execute a different request.")
                return Answer(saved.status, saved.body,
                              {**saved.headers, "Idempotent-Replayed": "true"})
            answer = self._route(req)
            if req.method == "POST" and key:
                self._idempotent[key] = (req.method, req.path, req.form, answer)
            return answer

    def _route(self, req: Recorded) -> Answer:
        if req.method == "POST" and req.path == "/v1/checkout/sessions":
            return self._create_session(req)
        if match := re.fullmatch(r"/v1/checkout/sessions/([^/]+)/expire", req.path):
            return self._expire_session(match.group(1)) if req.method == "POST" else \
                self._not_found(req)
        if match := re.fullmatch(r"/v1/checkout/sessions/([^/]+)", req.path):
            session = self.sessions.get(match.group(1))
            if req.method == "GET" and session is not None:
                return Answer(200, session)
            return self._missing("checkout.session", match.group(1))
        if req.method == "POST" and req.path == "/v1/refunds":
            return self._create_refund(req)
        return self._not_found(req)

    def _create_session(self, req: Recorded) -> Answer:
        session_id = self._next_id("cs")
        form = {k: v[0] for k, v in req.form.items()}
        qty = int(form.get("line_items[0][quantity]", "1"))
        amount = int(form["line_items[0][price_data][unit_amount]"]) * qty
        session = {
            "id": session_id, "object": "checkout.session", "mode": form.get("mode"),
            "status": "open", "payment_status": "unpaid",
            "url": f"https://checkout.stripe.com/c/pay/{session_id}#fidkdWxOYHwnPyd1blpxYHZxWjA",
            "expires_at": int(form["expires_at"]), "created": int(time.time()),
            "amount_total": amount, "currency": form.get("line_items[0][price_data][currency]"),
            "client_reference_id": form.get("client_reference_id"),
            "success_url": form.get("success_url"), "cancel_url": form.get("cancel_url"),
            "payment_intent": None, "livemode": False,
            "metadata": {k[len("metadata["):-1]: v for k, v in form.items()
                         if k.startswith("metadata[")},
        }
        self.sessions[session_id] = session
        return Answer(200, session)

    def _expire_session(self, session_id: str) -> Answer:
        session = self.sessions.get(session_id)
        if session is None:
            return self._missing("checkout.session", session_id)
        if session["status"] != "open":
            return stripe_error(
                400, "invalid_request_error",
                'Only Checkout Sessions with a status in ["open"] can be expired. This '
                f"Checkout Session has a status of `{session['status']}`.")
        session["status"] = "expired"
        return Answer(200, session)

    def _create_refund(self, req: Recorded) -> Answer:
        refund_id = self._next_id("re")
        form = {k: v[0] for k, v in req.form.items()}
        refund = {
            "id": refund_id, "object": "refund", "amount": int(form["amount"]),
            "currency": "usd", "payment_intent": form.get("payment_intent"),
            "reason": form.get("reason"), "status": "succeeded", "created": int(time.time()),
            "metadata": {k[len("metadata["):-1]: v for k, v in form.items()
                         if k.startswith("metadata[")},
        }
        self.refunds[refund_id] = refund
        return Answer(200, refund)

    @staticmethod
    def _missing(kind: str, object_id: str) -> Answer:
        return stripe_error(404, "invalid_request_error",
                            f"No such {kind}: '{object_id}'", code="resource_missing",
                            param="session")

    @staticmethod
    def _not_found(req: Recorded) -> Answer:
        return stripe_error(404, "invalid_request_error",
                            f"Unrecognized request URL ({req.method}: {req.path}).")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                split = urlsplit(self.path)
                req = Recorded(method=self.command, path=split.path,
                               query=parse_qs(split.query, keep_blank_values=True),
                               headers={k.lower(): v for k, v in self.headers.items()},
                               form=parse_qs(body, keep_blank_values=True))
                answer = stub._answer(req)
                if answer.delay_s:
                    time.sleep(answer.delay_s)
                headers = {"Request-Id": f"req_stub{len(stub.requests):06d}"}
                if version := req.headers.get(API_VERSION_HEADER.lower()):
                    headers[API_VERSION_HEADER] = version
                send_json(self, answer.status, answer.body, {**headers, **answer.headers})

            do_GET = do_POST = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: tests read `stub.requests` instead

        return Handler
