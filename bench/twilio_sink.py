"""The SMS sink for bench/dispatch_throughput.py: a local server that answers as Twilio's
Messages API does, in its own process.

    .venv/bin/python bench/twilio_sink.py --numbers N --account-sid AC... --auth-token TOKEN

An asyncio HTTP/1.1 server with keep-alive (``benchkit.sinks``) that answers
``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` at once with ``201 Created`` and a
JSON message resource shaped like Twilio's (``sid`` "SM" + 32 hex digits, ``status``
"queued", ``to``, ``from``, ``body``, ``num_segments``, dates in RFC 2822, ...), which the
real twilio-python client parses into a ``MessageInstance``. It checks what a client could
get wrong cheaply: the account in the path, HTTP Basic auth with that account's token, a
``To`` among the N bench numbers (``phone_number(n)``, ``+1555`` and 7 digits), a ``From``
(or ``MessagingServiceSid``) and a ``Body``; anything else gets Twilio's error JSON (``{code,
message, more_info, status}``) with 400, 401 or 404 and is counted as refused. It counts
accepted messages per ``To`` number and the first time each was accepted.

Prints one JSON line with its port, then obeys the same stdin commands as
``bench/push_sink.py``: ``stats``, ``times PATH``, ``reset``, ``quit`` (end of stdin too).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hmac
import json
import re
import secrets
import time
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs

from benchkit.sinks import Counts, Handler, listen, serve_counts

from tests.fakes.twilio_api import message_resource

PHONE_PREFIX = "+1555"  # + 7 digits: the bench's numbers, one per index
FROM_NUMBER = "+15005550006"
_MESSAGES = re.compile(rb"^/2010-04-01/Accounts/(AC[0-9a-f]{32})/Messages\.json$")
_MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")


def phone_number(index: int) -> str:
    """The bench's phone number for index ``index`` (E.164, unique per index)."""
    return f"{PHONE_PREFIX}{index:07d}"


def index_of(phone: str, n: int) -> int | None:
    tail = phone[len(PHONE_PREFIX) :]
    if phone.startswith(PHONE_PREFIX) and len(tail) == 7 and tail.isdigit() and int(tail) < n:
        return int(tail)
    return None


def response(status: int, reason: str, body: dict[str, Any]) -> bytes:
    data = json.dumps(body, separators=(",", ":")).encode()
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode() + data


def error(status: int, reason: str, code: int, message: str) -> bytes:
    return response(
        status,
        reason,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


def messages_handler(counts: Counts, account_sid: str, auth_token: str) -> Handler:
    expected_auth = b"Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode())
    clock: list[Any] = [0, ""]  # (second, RFC 2822 date of that second)

    def date() -> str:
        second = int(time.time())
        if clock[0] != second:
            clock[:] = [second, formatdate(second, usegmt=True).replace("GMT", "+0000")]
        return str(clock[1])

    def refuse(status: int, reason: str, code: int, message: str) -> bytes:
        counts.refused += 1
        return error(status, reason, code, message)

    def handle(method: bytes, path: bytes, headers: dict[bytes, bytes], body: bytes) -> bytes:
        match = _MESSAGES.match(path)
        if method != b"POST" or match is None:
            return refuse(404, "Not Found", 20404, f"The requested resource {path!r} was not found")
        if match.group(1).decode() != account_sid or not hmac.compare_digest(
            headers.get(b"authorization", b""), expected_auth
        ):
            return refuse(401, "Unauthorized", 20003, "Authenticate")
        form = parse_qs(body.decode())
        to = form.get("To", [""])[0]
        from_ = form.get("From", [None])[0]
        service = form.get("MessagingServiceSid", [None])[0]
        text = form.get("Body", [""])[0]
        index = index_of(to, counts.n)
        if index is None:
            return refuse(400, "Bad Request", 21211, f"The 'To' number {to} is not valid.")
        if not from_ and not (service and _MESSAGING_SERVICE_SID.match(service)):
            return refuse(400, "Bad Request", 21603, "A 'From' phone number is required.")
        if not text:
            return refuse(400, "Bad Request", 21602, "Message body is required.")
        counts.accept(index)
        sid = "SM" + secrets.token_hex(16)
        created = date()
        resource = message_resource(
            account_sid, sid, to=to, from_=from_, body=text, service_sid=service, created=created
        )
        return response(201, "Created", resource)

    return handle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--numbers", type=int, required=True, help="phone numbers (indexes)")
    parser.add_argument("--account-sid", required=True)
    parser.add_argument("--auth-token", required=True)
    options = parser.parse_args()
    counts = Counts(options.numbers)
    loop = asyncio.new_event_loop()
    server, _ = listen(loop, messages_handler(counts, options.account_sid, options.auth_token))
    serve_counts(loop, server, counts, "twilio")


if __name__ == "__main__":
    main()
