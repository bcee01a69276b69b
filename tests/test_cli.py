"""`python -m bot` as a user runs it: parse, score, check-config and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT, SAMPLE_COMMUNITY, SAMPLE_EXPORT, SAMPLE_LABELS


def run_cli(
    *args: str, cwd: Path = REPO_ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WECOM_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_help_lists_every_command() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("run", "replay", "parse", "score", "check-config", "db"):
        assert command in result.stdout


def test_parse_prints_one_json_object_per_report() -> None:
    result = run_cli("parse", str(SAMPLE_EXPORT), "--community", str(SAMPLE_COMMUNITY))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) >= 70
    assert set(rows[0]) == {
        "message_id",
        "message_ids",
        "category",
        "urgent",
        "grid",
        "location",
        "attachments",
    }
    album = next(r for r in rows if r["message_id"] == 20444)
    assert album["message_ids"] == [20444, 20445, 20446]
    assert album["attachments"] == 3


def test_score_prints_the_figures() -> None:
    result = run_cli(
        "score",
        str(SAMPLE_EXPORT),
        "--labels",
        str(SAMPLE_LABELS),
        "--community",
        str(SAMPLE_COMMUNITY),
    )
    assert result.returncode == 0, result.stderr
    assert "f1:" in result.stdout and "grid_accuracy:" in result.stdout


def test_bad_export_exits_2_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "export.json"
    broken.write_text('{"messages": [{"id": "x"}]}', encoding="utf-8")
    result = run_cli("parse", str(broken), "--community", str(SAMPLE_COMMUNITY))
    assert result.returncode == 2
    assert f"{broken}: messages[0].id" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_community_exits_2_naming_the_file_and_field(tmp_path: Path) -> None:
    config = tmp_path / "community.yaml"
    text = SAMPLE_COMMUNITY.read_text(encoding="utf-8").replace("Asia/Shanghai", "Mars/Olympus")
    config.write_text(text, encoding="utf-8")
    result = run_cli("parse", str(SAMPLE_EXPORT), "--community", str(config))
    assert result.returncode == 2
    assert f"{config}: community.timezone" in result.stderr
    assert "Traceback" not in result.stderr
    checked = run_cli("check-config", str(config))
    assert checked.returncode == 2


def test_bad_setting_exits_2_naming_the_variable(tmp_path: Path) -> None:
    result = run_cli("check-config", cwd=REPO_ROOT, env={"LOG_LEVEL": "LOUD"})
    assert result.returncode == 2
    assert "LOG_LEVEL" in result.stderr


def test_a_bad_database_url_is_one_line_with_the_password_masked(tmp_path: Path) -> None:
    for url in ("mysql://user:hunter2@host/db", "postgresql://postgres:hunter2@127.0.0.1:1/test"):
        result = run_cli("db", "upgrade", cwd=tmp_path, env={"DATABASE_URL": url})
        assert result.returncode == 2
        assert result.stderr.startswith("error: DATABASE_URL ")
        assert "hunter2" not in result.stderr + result.stdout
        assert "Traceback" not in result.stderr


def test_run_without_a_token_plays_the_simulated_group_chat(tmp_path: Path) -> None:
    result = run_cli(
        "run",
        cwd=tmp_path,
        env={
            "COMMUNITY_CONFIG": str(SAMPLE_COMMUNITY),
            "LOG_LEVEL": "DEBUG",
        },
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "已登记工单 #1" in out and "张敏" in out
    assert "已有工单 #1" in out  # the duplicate
    assert "抱歉" in out  # the outsider's refused press
    assert "[企业微信 私聊 美团-胡师傅] 🤖 bot: ✅ 已登记工单" in out  # WeCom beside Telegram
    assert "429 次数：0" in out
    assert "123456:TEST" not in result.stderr  # the (fake) token never reaches the logs
    assert "Traceback" not in result.stderr
