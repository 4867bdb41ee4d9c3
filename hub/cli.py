"""The `vigil` command: serve, demo, web, worker, db upgrade, cap import, services import,
audit verify, tips verify."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from aiohttp import web

from hub import audit, bundles, db, demo, demo_catcher, processes
from hub.app import create_app, run_worker
from hub.bus import create_bus
from hub.cap_files import CommandError, import_files
from hub.directory import Need
from hub.http import SESSIONS, SETTINGS
from hub.privacy import ACCESS_LOG
from hub.services_import import CommandError as ServicesCommandError
from hub.services_import import import_path
from hub.settings import Settings
from hub.welcome import welcome
from partners.credentials import ensure_bootstrap_token
from partners.models import utcnow

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
# Connections waiting to be accepted. After a restart or a network blip thousands of desks
# reconnect at once; with a short queue the kernel drops their SYNs and they wait a second
# or more to retry. The kernel caps it at net.core.somaxconn.
BACKLOG = 4096


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
    except ValueError as error:
        print(f"vigil: bad setting: {error}", file=sys.stderr)
        return 2
    return int(args.run(settings, args) or 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigil", description=__doc__)
    commands = parser.add_subparsers(title="commands")
    for name, run, help_text in (
        ("serve", _serve, "one process: web, live feed and the delivery worker"),
        ("web", _web, "the web half (API and live feed), for running many behind a balancer"),
        ("demo", _demo, "serve on a seeded downtown Toronto data set and print the logins"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--host", default=DEFAULT_HOST)
        command.add_argument("--port", type=int, default=DEFAULT_PORT)
        command.set_defaults(run=run)
        if name == "web":
            command.add_argument("--processes", type=_positive, default=1, metavar="N",
                                 help="run N web processes on the one port (SO_REUSEPORT), "
                                 "to use every core; needs VIGIL_BROKER_URL when N > 1")
            # Set by --processes on the processes it starts.
            command.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
            command.add_argument("--no-migrate", action="store_true", help=argparse.SUPPRESS)
    commands.add_parser("worker", help="a delivery worker; run as many as you need"
                        ).set_defaults(run=_worker)
    database = commands.add_parser("db", help="database maintenance")
    database_commands = database.add_subparsers(title="db commands", required=True)
    database_commands.add_parser("upgrade", help="apply migrations").set_defaults(run=_upgrade)
    cap = commands.add_parser("cap", help="CAP 1.2 documents")
    cap_commands = cap.add_subparsers(title="cap commands", required=True)
    importer = cap_commands.add_parser(
        "import", help="import CAP 1.2 files as alerts (updates and cancels of known alerts "
        "become revisions of them)")
    importer.add_argument("files", metavar="FILE", nargs="+", type=Path)
    importer.add_argument("--organisation", metavar="NAME_OR_ID",
                          help="the sending police service (default: the only one)")
    importer.set_defaults(run=_cap_import)
    _services_parser(commands)
    trail = commands.add_parser("audit", help="the audit trail")
    trail_commands = trail.add_subparsers(title="audit commands", required=True)
    trail_commands.add_parser("verify", help="check the hash chain").set_defaults(run=_verify)
    tips = commands.add_parser("tips", help="public tips and their case bundles")
    tips_commands = tips.add_subparsers(title="tips commands", required=True)
    checker = tips_commands.add_parser(
        "verify", help="check a case bundle: every file's size and SHA-256 against its "
        "manifest, and the custody log")
    checker.add_argument("bundle", metavar="BUNDLE", type=Path)
    checker.set_defaults(run=_tips_verify)
    return parser


def _services_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    services = commands.add_parser("services", help="the community services directory")
    services_commands = services.add_subparsers(title="services commands", required=True)
    importer = services_commands.add_parser(
        "import", help="import places from an HSDS datapackage (3.0 or 1.x folder), HSDS "
        "JSON or our CSV; every bad row is named and nothing is imported unless all are good; "
        "places an earlier import made are updated")
    importer.add_argument("path", metavar="PATH", type=Path)
    importer.add_argument("--need", choices=[need.value for need in Need],
                          help="HSDS only: the need of services whose attributes name none")
    importer.add_argument("--organisation", metavar="NAME_OR_ID",
                          help="the agency that runs these places (its people update their "
                          "capacity)")
    importer.set_defaults(run=_services_import)


def _listening(settings: Settings, args: argparse.Namespace) -> Settings:
    """Links and the allowed browser origin follow --host/--port unless set explicitly."""
    if "VIGIL_PUBLIC_URL" in settings.explicit:
        return settings
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    return replace(settings, public_url=f"http://{host}:{args.port}")


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    _run(create_app(_listening(settings, args)), args)
    return 0


def _web(settings: Settings, args: argparse.Namespace) -> int:
    if args.processes > 1:
        if not settings.broker_url:
            print("vigil web: --processes needs VIGIL_BROKER_URL (redis://...), so that every "
                  "process hears at once of alerts published on another", file=sys.stderr)
            return 2
        asyncio.run(_prepare(settings))
        return processes.supervise([processes.child_command(args.host, args.port)
                                    for _ in range(args.processes)])
    app = create_app(_listening(settings, args), worker=False, migrate=not args.no_migrate)
    _run(app, args, reuse_port=args.reuse_port)
    return 0


async def _prepare(settings: Settings) -> None:
    """Migrate and write the bootstrap token once, before the web processes start."""
    engine = db.create_engine(settings.database_url)
    try:
        await db.upgrade(engine)
        if settings.bootstrap_token:
            async with db.session_factory(engine)() as session:
                await ensure_bootstrap_token(session, settings.bootstrap_token)
    finally:
        await engine.dispose()


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _worker(settings: Settings, _args: argparse.Namespace) -> int:
    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_worker(settings, stop)

    asyncio.run(run())
    return 0


def _run(app: web.Application, args: argparse.Namespace, *, reuse_port: bool = False) -> None:
    """Serve until SIGINT or SIGTERM, on uvloop where it is installed."""
    web.run_app(app, host=args.host, port=args.port, reuse_port=reuse_port or None,
                backlog=BACKLOG, loop=_event_loop(), print=_started,
                access_log_class=ACCESS_LOG)


def _event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _started(message: str) -> None:
    logging.getLogger("hub").info(message.strip())


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    """Serve the demo data set with every face working and no other service: mail goes to
    the demo's own catcher (unless VIGIL_SMTP_URL names a relay), chat to its own webhooks,
    and /demo/mail lists both."""
    mail = demo_catcher.mail_socket()
    settings = _listening(settings, args)
    if "VIGIL_SMTP_URL" not in settings.explicit:
        host, port = mail.getsockname()[:2]
        settings = replace(settings, smtp_url=f"smtp://{host}:{port}")
    app = create_app(settings)
    demo_catcher.install(app, mail, utcnow)
    hooks = demo_catcher.hook_base(args.host, args.port)

    async def seed(app: web.Application) -> None:
        credentials = await demo.seed(app[SESSIONS], hooks=hooks)
        print(welcome(app[SETTINGS].public_url, credentials), flush=True)

    app.on_startup.append(seed)
    _run(app, args)
    return 0


def _upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    async def run() -> None:
        engine = db.create_engine(settings.database_url)
        try:
            await db.upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    print("database is at the newest schema")
    return 0


def _cap_import(settings: Settings, args: argparse.Namespace) -> int:
    async def run() -> int:
        engine = db.create_engine(settings.database_url)
        bus = create_bus(settings.broker_url)
        await bus.start()
        try:
            await db.upgrade(engine)
            return await import_files(db.session_factory(engine), bus, settings, args.files,
                                      args.organisation, utcnow)
        except CommandError as error:
            print(f"vigil cap import: {error}", file=sys.stderr)
            return 2
        finally:
            await bus.close()
            await engine.dispose()

    return asyncio.run(run())


def _services_import(settings: Settings, args: argparse.Namespace) -> int:
    async def run() -> int:
        engine = db.create_engine(settings.database_url)
        try:
            await db.upgrade(engine)
            need = Need(args.need) if args.need else None
            return await import_path(db.session_factory(engine), args.path, need,
                                     args.organisation, utcnow())
        except ServicesCommandError as error:
            print(f"vigil services import: {error}", file=sys.stderr)
            return 2
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _verify(settings: Settings, _args: argparse.Namespace) -> int:
    async def run() -> audit.Verdict:
        engine = db.create_engine(settings.database_url)
        try:
            async with db.session_factory(engine)() as session:
                return await audit.verify(session)
        finally:
            await engine.dispose()

    verdict = asyncio.run(run())
    if verdict.ok:
        print(f"audit trail intact: {verdict.checked} events")
        return 0
    where = f"event {verdict.bad_id}" if verdict.bad_id is not None else "end of the trail"
    print(f"audit trail BROKEN at {where}: {verdict.reason} "
          f"({verdict.checked} events verified before it)", file=sys.stderr)
    return 1


def _tips_verify(_settings: Settings, args: argparse.Namespace) -> int:
    checked, problems = bundles.verify(args.bundle)
    if not problems:
        print(f"ok: {checked} files match the manifest, the custody log is intact")
        return 0
    for problem in problems:
        print(problem)
    print(f"vigil tips verify: {args.bundle} FAILED: {len(problems)} problem(s)",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
