"""Plugging in your own HTTP: a transport built on the standard library's http.client.

The core builds each request (method, URL, headers with the token, JSON body) and
judges each response; a transport only moves bytes. It must not use a proxy, follow
redirects, or retry: raise vpc_imds.TransportError (or a built-in ConnectionError,
TimeoutError, ...) when the exchange fails and the session decides what happens next.
"""

from __future__ import annotations

import http.client
import socket
import sys
from typing import List, Tuple
from urllib.parse import urlsplit

import vpc_imds


class HttpClientTransport:
    """A vpc_imds.Transport on http.client (a new connection per request)."""

    def __init__(self) -> None:
        self.sent: List[Tuple[str, str]] = []

    def send(self, request: vpc_imds.Request) -> vpc_imds.Response:
        url = urlsplit(request.url)
        host = url.hostname or ""
        conn_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        conn = conn_class(host, url.port, timeout=request.timeout)
        try:
            headers = dict(request.headers)
            conn.request(request.method, request.target, body=request.body, headers=headers)
            response = conn.getresponse()
            body = response.read()
            self.sent.append((request.method, request.target))
            return vpc_imds.Response(response.status, body, response.getheaders())
        except ConnectionRefusedError:
            raise vpc_imds.TransportError("refused") from None
        except socket.timeout:
            raise vpc_imds.TransportError("response_timeout") from None
        except (http.client.HTTPException, ConnectionError) as e:
            raise vpc_imds.TransportError("connection_lost", str(e)) from None
        finally:
            conn.close()


def main(endpoint: str) -> None:
    transport = HttpClientTransport()
    client = vpc_imds.Client(endpoint, transport=transport)
    instance = client.instance()
    print(f"{instance.name}: {len(transport.sent)} requests through http.client")
    for method, target in transport.sent:
        print(f"  {method} {target}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else vpc_imds.DEFAULT_ENDPOINT)
