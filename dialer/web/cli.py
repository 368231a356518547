"""`dialer web`: serve the console and the JSON API."""

from __future__ import annotations

import argparse

from dialer.settings import Settings


def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    from dialer.web.app import create_app
    from dialer.web.serve import ConsoleServer, log_requests
    from dialer.web.settings import WebSettings

    web = WebSettings.from_env()
    app = create_app(settings, web)
    server = ConsoleServer(app, args.host, args.port)
    log_requests()
    if web.token_generated:
        print("No DIALER_WEB_TOKEN set: this run's token is in the link below (shown once).")
        print(f"Sign in: {server.sign_in_url(web)}", flush=True)
    else:
        print(f"Console at {server.url}/ (sign in with DIALER_WEB_TOKEN)", flush=True)
    server.run()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("web", help="serve the web console and HTTP API")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: localhost)")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    p.set_defaults(handler=cmd_web)
