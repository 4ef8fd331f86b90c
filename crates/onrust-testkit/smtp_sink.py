"""A real SMTP server for the onrust tests (Debian's python3-aiosmtpd).

Usage: smtp_sink.py HOST PORT OUTDIR [--fail-first N] [--fail-code CODE]
       [--tls-cert CERT --tls-key KEY] [--auth-reject]

Every accepted message is stored in OUTDIR as NNN.eml (raw), NNN.txt and NNN.html (the
decoded text/plain and text/html parts) and NNN.json (envelope, decoded subject, the
header names in order), each written to a temporary name and renamed, so a
test that polls OUTDIR never reads a half-written file. The first N DATA
commands are answered with CODE (default 451) instead. With --tls-cert the
server offers STARTTLS and requires it. With --auth-reject it offers AUTH
(also without TLS, on loopback) and rejects every login with 535. Prints
"ready" once listening.
"""

import argparse
import email
import email.policy
import json
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Sink:
    def __init__(self, outdir, fail_first, fail_code):
        self.outdir = outdir
        self.fail_first = fail_first
        self.fail_code = fail_code
        self.seen = 0
        self.stored = 0

    async def handle_DATA(self, server, session, envelope):
        self.seen += 1
        if self.seen <= self.fail_first:
            if self.fail_code.startswith("4"):
                return f"{self.fail_code} 4.3.0 try again later (test sink)"
            return f"{self.fail_code} 5.7.1 rejected (test sink)"
        self.stored += 1
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(msg["subject"]),
            "subject_count": len(msg.get_all("subject") or []),
            "headers": [k for k in msg.keys()],
            "message_id": str(msg["message-id"]),
        }
        base = os.path.join(self.outdir, f"{self.stored:03d}")
        self._write(base + ".eml", raw)
        self._write(base + ".txt", (body.get_content() if body else "").encode())
        self._write(base + ".html", (html.get_content() if html else "").encode())
        self._write(base + ".json", json.dumps(meta).encode())
        return "250 2.0.0 stored (test sink)"

    def _write(self, path, data):
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, path)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("outdir")
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--fail-code", default="451")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--auth-reject", action="store_true")
    a = p.parse_args()
    kwargs = {}
    if a.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        kwargs.update(tls_context=ctx, require_starttls=True)
    if a.auth_reject:
        kwargs.update(
            authenticator=lambda *args: AuthResult(success=False, handled=False),
            auth_require_tls=False,
        )
    handler = Sink(a.outdir, a.fail_first, a.fail_code)
    controller = Controller(handler, hostname=a.host, port=a.port, server_kwargs=kwargs)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
