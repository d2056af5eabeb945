"""A local stand-in for Groq's OpenAI-compatible API, for testing the real adapter (the
official `groq` SDK) without the network.

A threaded `http.server` on 127.0.0.1 (a free port) that records every request as received
(method, path, headers, JSON body) and answers like Groq documents:

- POST /openai/v1/chat/completions with `Authorization: Bearer <key>` -> a `chat.completion`
  object whose one choice's `message.content` is the scripted text (by default a JSON
  reading from `default_reading`).
- A wrong or missing key -> 401 `invalid_api_key`; any other path -> 404.

Tests push scripted answers with `script(*answers)`; they are served first, in order.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.local_server import LocalServer, send_json

PATH = "/openai/v1/chat/completions"
KEY = "gsk_test_key"


@dataclass(frozen=True)
class Recorded:
    """One request as the stub received it; header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any] | None = None
    content: str | None = None
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def completion(content: str, model: str = "llama-3.1-8b-instant") -> dict[str, Any]:
    """A chat completion shaped like Groq's (OpenAI-compatible, plus `x_groq`)."""
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": 1_796_000_000,
        "model": model, "system_fingerprint": "fp_test",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        "x_groq": {"id": "req_test"},
    }


def reply(reading: dict[str, Any] | str, *, delay_s: float = 0.0) -> Answer:
    content = reading if isinstance(reading, str) else json.dumps(reading)
    return Answer(200, content=content, delay_s=delay_s)


def groq_error(status: int, message: str, type_: str, code: str | None = None) -> Answer:
    error: dict[str, Any] = {"message": message, "type": type_}
    if code:
        error["code"] = code
    return Answer(status, {"error": error})


def server_error() -> Answer:
    return groq_error(500, "Internal Server Error", "internal_server_error")


def default_reading(text: str) -> dict[str, Any]:
    return {"intent": "unknown", "service": None, "date_phrase": None, "time_phrase": None,
            "part_of_day": None}


class GroqStub(LocalServer):
    def __init__(self, reading: Callable[[str], dict[str, Any]] = default_reading) -> None:
        self.requests: list[Recorded] = []
        self._script: deque[Answer] = deque()
        self._lock = threading.Lock()
        self.reading = reading
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw) if raw else {}
                except json.JSONDecodeError:
                    body = {"_raw": raw.decode("utf-8", "replace")}
                rec = Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                               body)
                with stub._lock:
                    stub.requests.append(rec)
                    scripted = stub._script.popleft() if stub._script else None
                self._answer(stub._respond(rec, scripted))

            def _answer(self, answer: Answer) -> None:
                if answer.delay_s:
                    time.sleep(answer.delay_s)
                model = "llama-3.1-8b-instant"
                payload = (answer.body if answer.body is not None
                           else completion(answer.content or "", model))
                send_json(self, answer.status, payload, answer.headers)

        super().__init__(Handler, name="groq-stub")

    def _respond(self, rec: Recorded, scripted: Answer | None) -> Answer:
        if rec.path != PATH:
            return groq_error(404, "Unknown request URL", "invalid_request_error",
                              "unknown_url")
        if rec.headers.get("authorization") != f"Bearer {KEY}":
            return groq_error(401, "Invalid API Key", "invalid_request_error",
                              "invalid_api_key")
        if scripted is not None:
            return scripted
        messages = rec.body.get("messages") or [{}]
        return reply(self.reading(str(messages[-1].get("content", ""))))

    @property
    def base_url(self) -> str:
        return self.url

    def script(self, *answers: Answer) -> None:
        with self._lock:
            self._script.extend(answers)

