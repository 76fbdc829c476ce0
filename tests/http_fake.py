"""A fake network under urllib3 for the unit and contract tests of the Jira and PagerDuty transports.

The transports send through urllib3's connection pools (jira/transport.py); this fake replaces
``HTTPConnectionPool.urlopen`` (which ``PoolManager`` and ``ProxyManager`` end in too), so everything above
it runs as deployed: the
transport's URL and body encoding, headers, timeouts, retries and error mapping. Registered answers
match on method and URL (the query too when the registered URL has one) plus optional matchers, in
registration order, the last matching one repeating, as the ``responses`` library does for requests;
the API is the subset of it these tests use. A request nothing matches fails the test loudly.

Each call is recorded as a ``requests.PreparedRequest`` (method, url, headers, body) so the contract
tests validate it with openapi-core's requests adapter; ``req_kwargs`` holds the timeout sent.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, urlsplit

import requests
import urllib3

type Matcher = Callable[[requests.PreparedRequest], tuple[bool, str]]


@dataclass
class Call:
    request: requests.PreparedRequest
    response: urllib3.HTTPResponse | None


class CallList(list[Call]):
    def reset(self) -> None:
        self.clear()


@dataclass
class _Answer:
    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: bytes | BaseException
    match: Sequence[Matcher]
    used: int = 0

    def matches(self, request: requests.PreparedRequest) -> bool:
        if request.method != self.method:
            return False
        wanted, sent = urlsplit(self.url), urlsplit(request.url or "")
        if (wanted.scheme, wanted.netloc, wanted.path) != (sent.scheme, sent.netloc, sent.path):
            return False
        if wanted.query and sorted(parse_qsl(wanted.query)) != sorted(parse_qsl(sent.query)):
            return False
        return all(matcher(request)[0] for matcher in self.match)


@dataclass
class FakeHttp:
    """``with FakeHttp() as http: http.get(url, json=...)``; ``http.calls`` lists what was sent."""

    calls: CallList = field(default_factory=CallList)
    _answers: list[_Answer] = field(default_factory=list)

    def add(self, method: str, url: str, *, json: Any = None, body: bytes | str | BaseException = b"",
            status: int = 200, headers: Mapping[str, str] | None = None, content_type: str | None = None,
            match: Sequence[Matcher] = ()) -> None:
        answer_headers = dict(headers or {})
        if json is not None:
            body = jsonlib.dumps(json).encode()
            answer_headers.setdefault("Content-Type", "application/json")
        elif content_type is not None:
            answer_headers.setdefault("Content-Type", content_type)
        if isinstance(body, str):
            body = body.encode()
        self._answers.append(_Answer(method.upper(), url, status, answer_headers, body, match))

    def get(self, url: str, **kwargs: Any) -> None:
        self.add("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> None:
        self.add("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> None:
        self.add("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> None:
        self.add("DELETE", url, **kwargs)

    def __enter__(self) -> FakeHttp:
        self._patch = mock.patch.object(urllib3.HTTPConnectionPool, "urlopen", autospec=True,
                                        side_effect=self._urlopen)
        self._patch.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._patch.stop()

    def _urlopen(self, pool: urllib3.HTTPConnectionPool, method: str, url: str, body: bytes | None = None,
                 headers: Mapping[str, str] | None = None, timeout: Any = None, **_: Any) -> urllib3.HTTPResponse:
        if url.startswith("/"):  # a pool's request target: the path and query on the pool's host
            default_port = {"http": 80, "https": 443}.get(pool.scheme)
            port = "" if pool.port in (None, default_port) else f":{pool.port}"
            url = f"{pool.scheme}://{pool.host}{port}{url}"
        request = requests.PreparedRequest()
        request.method = method.upper()
        request.url = url
        request.headers = requests.structures.CaseInsensitiveDict(headers or {})
        request.body = body
        request.req_kwargs = {"timeout": (timeout.connect_timeout, timeout.read_timeout)  # type: ignore[attr-defined]
                              if isinstance(timeout, urllib3.Timeout) else timeout}
        candidates = [answer for answer in self._answers if answer.matches(request)]
        if not candidates:
            raise AssertionError(f"no fake answer registered for {request.method} {url}")
        answer = next((a for a in candidates if a.used == 0), candidates[-1])
        answer.used += 1
        if isinstance(answer.body, BaseException):
            self.calls.append(Call(request, None))
            raise answer.body
        response = urllib3.HTTPResponse(body=answer.body, status=answer.status, headers=answer.headers,
                                        preload_content=True, decode_content=True, request_method=method)
        self.calls.append(Call(request, response))
        return response


@contextmanager
def fake_http() -> Iterator[FakeHttp]:
    with FakeHttp() as http:
        yield http


def json_params_matcher(expected: Any) -> Matcher:
    def match(request: requests.PreparedRequest) -> tuple[bool, str]:
        body = request.body
        sent = jsonlib.loads(body) if body else None
        return sent == expected, f"JSON body {sent!r} != {expected!r}"

    return match


def query_param_matcher(expected: Mapping[str, str]) -> Matcher:
    def match(request: requests.PreparedRequest) -> tuple[bool, str]:
        sent = dict(parse_qsl(urlsplit(request.url or "").query))
        return sent == dict(expected), f"query {sent!r} != {dict(expected)!r}"

    return match
