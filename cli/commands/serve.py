"""``scopeguard serve``: run the HTTP service (uvicorn) on a model folder. See docs/SERVING.md.

Settings come from ``SCOPEGUARD_*`` environment variables and ``.env`` (serve/settings.py); the flags
here override them. Binds to 127.0.0.1 and requires API keys unless told otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from cli.commands.reader_args import _positive_int

APP_FACTORY = "serve.main:app_from_environment"
# With several workers, a worker counts as started once its model is loaded and warm (serve/main.py).
WORKER_START_TIMEOUT_S = 300


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535, got {value}")
    return port


def add_parser(subparsers: Any) -> None:
    from classifier.compute import COMPUTE_CHOICES

    parser = subparsers.add_parser(
        "serve",
        help="run the HTTP service (POST /v1/classify) on a model folder",
        description="Serve a model over HTTP (FastAPI + uvicorn). Settings: SCOPEGUARD_* environment "
        "variables or a .env file, overridden by these flags. API keys are required unless --no-auth: "
        "`scopeguard keys new` makes one. --live-model serves a second, fast model to requests that ask "
        'for it ("model": "live"). SIGHUP or POST /v1/admin/reload reloads the models. See docs/SERVING.md.',
    )
    parser.add_argument("--host", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=_port, help="port (default 8080)")
    parser.add_argument(
        "--model",
        metavar="DIR",
        help="model folder (default: $SCOPEGUARD_MODEL, else models/default of the scopeguard source tree)",
    )
    parser.add_argument(
        "--live-model",
        metavar="DIR",
        help='a second model folder for requests with "model": "live" (e.g. a fast distilled model for '
        "live checks while --model decides audits; default: $SCOPEGUARD_LIVE_MODEL, else none)",
    )
    parser.add_argument(
        "--business",
        metavar="FILE",
        help="business profile for requests whose conversation brings none (default: "
        "$SCOPEGUARD_BUSINESS; YAML with name and description, or plain text; docs/PROFILES.md)",
    )
    parser.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="worker processes, each with its own model (default 1)",
    )
    parser.add_argument(
        "--compute",
        choices=COMPUTE_CHOICES,
        help="matrix products of int8-weights models (default: $SCOPEGUARD_COMPUTE, else auto: int8 where "
        "the CPU has int8 dot products, else fp32; docs/PERFORMANCE.md)",
    )
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="accept requests without an API key (local experiments only; prints a warning)",
    )
    parser.add_argument("--env-file", type=Path, metavar="FILE", help="settings file (default: ./.env)")
    parser.set_defaults(func=run)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
        "compute": args.compute,
    }
    if args.model is not None:
        values["model"] = Path(args.model)
    if args.live_model is not None:
        values["live_model"] = Path(args.live_model)
    if args.business is not None:
        values["business"] = Path(args.business)
    if args.no_auth:
        values["auth"] = False
    return {key: value for key, value in values.items() if value is not None}


def run(args: argparse.Namespace) -> int:
    import uvicorn
    from pydantic import ValidationError

    from classifier.validation import validation_problems
    from serve.logs import configure_logging
    from serve.service import check_model_dir
    from serve.settings import ENV_FILE, LIVE_MODEL, Settings

    env_file = args.env_file if args.env_file is not None else ENV_FILE
    if args.env_file is not None and not args.env_file.is_file():
        raise FileNotFoundError(2, "no such settings file", str(args.env_file))
    try:
        settings = Settings(_env_file=env_file, **_overrides(args))
    except ValidationError as exc:  # one line naming each setting, not pydantic's multi-line dump
        problems = validation_problems(exc, top="settings").replace("Value error, ", "")
        raise ValueError(f"invalid settings: {problems}") from None
    # fail here, before binding, if a model is unusable
    model_dir = check_model_dir(settings.model, compute=settings.compute)
    live_dir = (
        check_model_dir(settings.live_model, LIVE_MODEL, settings.compute)
        if settings.live_model is not None
        else None
    )
    settings = settings.model_copy(update={"model": model_dir, "live_model": live_dir})
    if settings.business is not None:
        from classifier.profile import load_profile

        load_profile(settings.business)  # fail here too: a bad profile file is a usage error
    if not settings.auth:
        print(
            "scopeguard serve: WARNING: --no-auth: anyone who can reach "
            f"{settings.host}:{settings.port} can use the API, including model reloads",
            file=sys.stderr,
        )
    if settings.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"scopeguard serve: listening on {settings.host}: put a TLS-terminating proxy in front",
            file=sys.stderr,
        )
    # Workers (and the factory) rebuild exactly these settings from the environment.
    os.environ.update(settings.to_env())
    configure_logging(settings.log_level)
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_timeout_s),
        timeout_worker_healthcheck=WORKER_START_TIMEOUT_S,
        server_header=False,
    )
    return 0
