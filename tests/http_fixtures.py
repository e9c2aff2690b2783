"""A local HTTP server on 127.0.0.1 (http.server in a thread) serving files built by our own code, with the
misbehaviours a download must survive: no Range support, a connection cut mid-way, a slow body, an error status."""
from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator


@dataclass
class Served:
    """What the server serves and how; `requests` records the Range header of every request ('' when none)."""

    files: dict[str, bytes] = field(default_factory=dict)
    range_ok: bool = True
    whole_as_range: bool = False  # answer a Range request with 206 and the whole file (a range not asked for)
    cut_after: int | None = None  # close the connection after this many body bytes (once, then serve normally)
    delay_s: float = 0.0  # pause between chunks of the body
    status: int | None = None  # answer every request with this error status
    redirects: dict[str, str] = field(default_factory=dict)  # name -> the name it moved to (302, as NGC answers)
    requests: list[str] = field(default_factory=list)
    port: int = 0

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"


def _handler(served: Served):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep the test output clean
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            served.requests.append(self.headers.get("Range", ""))
            if served.status:
                self.send_error(served.status)
                return
            if self.path.lstrip("/") in served.redirects:
                self.send_response(302)
                self.send_header("Location", served.url(served.redirects[self.path.lstrip("/")]))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = served.files.get(self.path.lstrip("/"))
            if data is None:
                self.send_error(404)
                return
            start = 0
            rng = self.headers.get("Range", "")
            if served.range_ok and rng.startswith("bytes="):
                start = 0 if served.whole_as_range else int(rng[6:].split("-")[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            if served.cut_after is not None:
                self.wfile.write(body[:served.cut_after])
                self.wfile.flush()
                served.cut_after = None
                self.close_connection = True
                return
            try:
                for i in range(0, len(body), 4096):
                    self.wfile.write(body[i:i + 4096])
                    if served.delay_s:
                        time.sleep(served.delay_s)
            except (BrokenPipeError, ConnectionResetError):  # the client cancelled
                self.close_connection = True

    return Handler


@contextlib.contextmanager
def http_server(served: Served | None = None) -> Iterator[Served]:
    """Serve `served` on 127.0.0.1 (a free port) while the context is open; the thread is joined on exit."""
    served = served or Served()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    server.daemon_threads = False  # server_close() joins the request threads: none is left behind
    served.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="test-http-server", daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
