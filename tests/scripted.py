"""Test helpers: a scripted HTTP server and an injected clock, for the retry and reporting tests."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HANG = -1  # a queued status that holds the request, unanswered, until the server closes

Answer = tuple[int, dict[str, str], bytes]  # (status, headers, body)


class Scripted:
    """A server answering from a queue of (status, headers, body); 200 {} once it is empty."""

    def __init__(self) -> None:
        self.queue: list[Answer] = []
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.released = threading.Event()
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                scripted.seen.append((self.command, self.path, dict(self.headers)))
                status, headers, body = (
                    scripted.queue.pop(0) if scripted.queue else (200, {}, b"{}")
                )
                if status == HANG:
                    scripted.released.wait(30)
                    self.close_connection = True
                    return
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


class FakeTime:
    """An injected clock: `sleep` records the wait and moves both clocks on, without waiting."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now
