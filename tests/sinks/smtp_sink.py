#!/usr/bin/python3
"""A real SMTP server for the sinks tests: aiosmtpd (Debian's python3-aiosmtpd) on
127.0.0.1, port chosen by the kernel.

  smtp_sink.py --dir DIR [--starttls CERT KEY] [--smtps CERT KEY] [--auth USER PASS]

Writes the port to DIR/port once listening. Each message received is stored as
DIR/<n>.eml (the DATA bytes as received, after dot-unstuffing) and DIR/<n>.json (the
envelope: mail_from, rcpt_tos, whether the session was TLS, the authenticated user).
With --starttls, STARTTLS is offered and required before MAIL; with --smtps the listener
is implicit TLS; with --auth, AUTH (PLAIN/LOGIN) is required.
"""
import argparse
import asyncio
import json
import os
import socket
import ssl

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Store:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        n = self.count
        self.count += 1
        with open(os.path.join(self.directory, f"{n}.eml.tmp"), "wb") as f:
            f.write(envelope.original_content or envelope.content)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            # STARTTLS swaps the transport; implicit TLS starts with one: ask the transport.
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "auth": (session.auth_data.login.decode()
                     if isinstance(session.auth_data, LoginPassword) else None),
        }
        with open(os.path.join(self.directory, f"{n}.json"), "w") as f:
            json.dump(meta, f)
        # The .eml appears last, whole: the test polls for it.
        os.rename(os.path.join(self.directory, f"{n}.eml.tmp"),
                  os.path.join(self.directory, f"{n}.eml"))
        return "250 2.0.0 Message accepted for delivery"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--smtps", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--auth", nargs=2, metavar=("USER", "PASS"))
    args = ap.parse_args()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    handler = Store(args.dir)

    def context(pair):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(pair[0], pair[1])
        return ctx

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and args.auth is not None and
              auth_data.login.decode() == args.auth[0] and
              auth_data.password.decode() == args.auth[1])
        # handled=False: aiosmtpd itself answers 535 to a refusal.
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    kwargs = {"hostname": "smtp-sink.test"}
    if args.starttls:
        kwargs.update(tls_context=context(args.starttls), require_starttls=True)
    if args.auth:
        kwargs.update(authenticator=authenticator, auth_required=True,
                      auth_require_tls=bool(args.starttls or args.smtps))

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, **kwargs), sock=sock,
        ssl=context(args.smtps) if args.smtps else None))
    port = sock.getsockname()[1]
    with open(os.path.join(args.dir, "port.tmp"), "w") as f:
        f.write(str(port))
    os.rename(os.path.join(args.dir, "port.tmp"), os.path.join(args.dir, "port"))
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
