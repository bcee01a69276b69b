"""Command line: `python -m bot run | parse | score | check-config | db upgrade | events import`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bot.redaction import redact

if TYPE_CHECKING:
    from bot.event_import import ImportItem, Outcome
    from bot.settings import Settings
    from handlers.community import CommunityConfig

EXIT_BAD_INPUT = 2

BUNDLED_EXPORT = Path("examples/corpus/result.json")


class CliError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Community liaison bot: group-chat reports become tickets for grid workers.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    commands.add_parser(
        "run",
        help="serve the configured chats; with no platform settings, play a simulated chat",
        description="Serve the configured chats: Telegram when TELEGRAM_BOT_TOKEN is set "
        "(polling, or a webhook when TELEGRAM_WEBHOOK_URL is set), WeCom when the WECOM_* "
        "settings are (callbacks on WECOM_CALLBACK_PORT at /wecom/app and /wecom/aibot), or "
        "both. With neither, the bot plays a whole scenario in a simulated chat (embedded "
        "fake Telegram and WeCom servers) and prints it.",
    )
    replay = commands.add_parser(
        "replay",
        help="replay a chat export into the database and print the tickets it makes",
    )
    replay.add_argument(
        "--language",
        choices=["zh", "en"],
        default=None,
        help="language of the demo transcript (default: the community's)",
    )
    replay.add_argument(
        "--export",
        type=Path,
        default=None,
        help=f"chat export the demo replays (default: {BUNDLED_EXPORT})",
    )

    parse = commands.add_parser(
        "parse", help="print the reports the parser finds in a Telegram chat export (JSON lines)"
    )
    parse.add_argument("export", type=Path, help="Telegram Desktop 'Export chat history' JSON")
    parse.add_argument("--community", type=Path, required=True, help="community YAML file")
    parse.add_argument(
        "--bot-username",
        default=None,
        help="the bot's @username; by default any mention of a *bot account counts",
    )
    parse.add_argument(
        "--explain",
        action="store_true",
        help="add the parser's confidence and reasons to each line",
    )

    score = commands.add_parser("score", help="score the parser on a labelled chat export")
    score.add_argument("export", type=Path, help="Telegram Desktop 'Export chat history' JSON")
    score.add_argument("--labels", type=Path, required=True, help="labels.json for the export")
    score.add_argument("--community", type=Path, required=True, help="community YAML file")
    score.add_argument(
        "--details", action="store_true", help="list missed, spurious and wrongly labelled reports"
    )

    check = commands.add_parser("check-config", help="validate community YAML files")
    check.add_argument(
        "files", nargs="*", type=Path, help="files to check (default: COMMUNITY_CONFIG)"
    )

    events = commands.add_parser("events", help="community events")
    events_commands = events.add_subparsers(dest="events_command", metavar="ACTION", required=True)
    importer = events_commands.add_parser(
        "import",
        help="create events from a YAML or iCalendar (.ics) file",
        description="Create the file's events in DATABASE_URL; the running bot posts the "
        "invitations. Re-importing a file creates nothing new. Bad input stores nothing.",
    )
    importer.add_argument("file", type=Path, help="events .yaml/.yml or .ics file")
    importer.add_argument(
        "--community",
        type=Path,
        default=None,
        help="community YAML file (default: COMMUNITY_CONFIG, which must list one community)",
    )
    importer.add_argument(
        "--dry-run", action="store_true", help="print what would be created; store nothing"
    )

    database = commands.add_parser("db", help="database maintenance")
    database_commands = database.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    database_commands.add_parser("upgrade", help="apply migrations to DATABASE_URL")
    return parser


def _parse_command(args: argparse.Namespace) -> int:
    from bot.export import read_export
    from bot.reports_from_export import detect_reports
    from handlers.community import load_community
    from handlers.parsing.report_parser import ReportParser

    parser = ReportParser(load_community(args.community))
    messages = read_export(args.export, bot_username=args.bot_username)
    for report in detect_reports(messages, parser):
        row = report.as_json_row()
        if args.explain:
            row["confidence"] = report.verdict.confidence
            row["reasons"] = list(report.verdict.reasons)
        print(json.dumps(row, ensure_ascii=False))
    return 0


def _score_command(args: argparse.Namespace) -> int:
    from bot.export import read_export
    from bot.reports_from_export import detect_reports
    from bot.scoring import load_labels, score_reports
    from handlers.community import load_community
    from handlers.parsing.report_parser import ReportParser

    parser = ReportParser(load_community(args.community))
    messages = read_export(args.export)
    labels = load_labels(args.labels)
    rows = [report.as_json_row() for report in detect_reports(messages, parser)]
    result = score_reports(rows, labels)
    for name, value in result.summary().items():
        print(f"{name:>18}: {value}")
    if args.details:
        print("missed:", result.missed)
        print("spurious:", result.spurious)
        for owner, name, predicted, expected in result.wrong_fields:
            print(f"wrong {name} on {owner}: predicted {predicted!r}, labelled {expected!r}")
    return 0


def _check_config_command(args: argparse.Namespace) -> int:
    from handlers.community import load_communities

    paths = [str(p) for p in args.files] or _settings().community_config_paths
    for community in load_communities([str(p) for p in paths]):
        grids = len(community.grids)
        print(f"ok: {community.community.id} ({community.community.name}), {grids} grids")
    return 0


def _events_command(args: argparse.Namespace) -> int:
    from bot.event_import import EventImportError, describe, read_events, summary
    from handlers.community import load_communities

    settings = _settings()
    paths = [str(args.community)] if args.community else settings.community_config_paths
    communities = load_communities([str(p) for p in paths])
    if len(communities) > 1:
        raise CliError("COMMUNITY_CONFIG lists several communities: choose one with --community")
    try:
        items, notes = read_events(args.file, communities[0])
        with _database_errors(settings.database_url):
            outcomes = asyncio.run(
                _import_events(settings, communities[0], args.file, items, dry_run=args.dry_run)
            )
    except EventImportError as exc:
        raise CliError(str(exc)) from None
    for line in notes + [describe(o, dry_run=args.dry_run) for o in outcomes]:
        print(line)
    print(summary(outcomes, dry_run=args.dry_run))
    return 0


async def _import_events(
    settings: Settings,
    community: CommunityConfig,
    file: Path,
    items: list[ImportItem],
    *,
    dry_run: bool,
) -> list[Outcome]:
    """Publish through a Runtime like the bot's, on DATABASE_URL (migrated first, as at start)."""
    from bot.event_import import import_events
    from handlers.clock import SystemClock
    from handlers.runtime import Runtime
    from storage.database import create_engine, create_session_factory, upgrade_database

    await upgrade_database(settings.database_url)
    engine = create_engine(settings.database_url)
    # Invitations only to groups the running bot posts to: Telegram, and WeCom when configured.
    served = {"tg": settings.telegram_enabled, "wecom": settings.wecom_enabled}
    # With neither configured the import is for the demo's Telegram groups.
    platforms = frozenset(name for name, on in served.items() if on) or frozenset({"tg"})
    runtime = Runtime(
        communities=[community],
        sessions=create_session_factory(engine),
        clock=SystemClock(),
        platforms=platforms,
    )
    try:
        return await import_events(runtime, community, file, items, dry_run=dry_run)
    finally:
        await engine.dispose()


def _db_command(args: argparse.Namespace) -> int:
    from storage.database import upgrade_database

    settings = _settings()
    with _database_errors(settings.database_url):
        asyncio.run(upgrade_database(settings.database_url))
    print("database is at the latest migration")
    return 0


@contextmanager
def _database_errors(url: str) -> Iterator[None]:
    """Turn a bad or unreachable DATABASE_URL into one line, password masked."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from bot.settings import mask_url_password

    try:
        yield
    except BrokenPipeError:
        raise
    except (ArgumentError, SQLAlchemyError, OSError, ValueError) as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        try:
            password = make_url(url).password
        except ArgumentError:
            password = None
        if password:
            problem = problem.replace(str(password), "***")
        raise CliError(f"DATABASE_URL {mask_url_password(url)}: {problem}") from None


def _run_command(args: argparse.Namespace) -> int:
    settings = _settings()
    if not settings.telegram_enabled and not settings.wecom_enabled:
        return _play_demo(settings)
    if (
        settings.telegram_enabled
        and settings.telegram_webhook_url
        and settings.telegram_webhook_secret is None
    ):
        raise CliError(
            "TELEGRAM_WEBHOOK_SECRET is required with TELEGRAM_WEBHOOK_URL: without it anyone "
            "who finds the URL could post forged updates"
        )
    from bot.serve import serve

    with _database_errors(settings.database_url):
        return asyncio.run(serve(settings))


def _play_demo(settings: Settings) -> int:
    from bot.demo_chat import play_demo
    from handlers.community import load_communities

    communities = load_communities([str(p) for p in settings.community_config_paths])
    if settings.log_level != "DEBUG":  # the fake WeCom's token fetch is no news in the transcript
        logging.getLogger("bot.wecom_api").setLevel(logging.WARNING)
    demo_database = Path("data") / "demo.db"
    demo_database.unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{demo_database}"
    with _database_errors(url):
        return asyncio.run(play_demo(communities[0], url, Path(settings.media_dir)))


def _replay_command(args: argparse.Namespace) -> int:
    settings = _settings()
    from bot.demo import run_demo

    export = args.export or BUNDLED_EXPORT
    with _database_errors(settings.database_url):
        return asyncio.run(run_demo(settings, export_path=export, language=args.language))


def _settings() -> Settings:
    from pydantic import ValidationError

    from bot.settings import describe_settings_error, load_settings

    try:
        settings = load_settings()
    except ValidationError as exc:
        raise CliError(f"settings: {describe_settings_error(exc)}") from None
    logging.getLogger().setLevel(settings.log_level)
    redact(*settings.secret_values())
    if settings.log_level != "DEBUG":  # library chatter only when debugging
        for noisy in ("alembic", "apscheduler", "telegram.ext", "tornado.access"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    return settings


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": _run_command,
    "replay": _replay_command,
    "parse": _parse_command,
    "score": _score_command,
    "check-config": _check_config_command,
    "db": _db_command,
    "events": _events_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    from bot.export import ExportError
    from bot.scoring import LabelsError
    from handlers.community import CommunityConfigError

    args = _build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return COMMANDS[args.command](args)
    except (CliError, CommunityConfigError, ExportError, LabelsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
