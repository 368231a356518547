"""docker-compose.yml, checked structurally (Docker itself is not available on these
machines): every service's command resolves to something this project installs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_five_services() -> None:
    assert set(compose()["services"]) == {"redis", "worker", "flower", "simulator", "web"}


def test_redis_keeps_data_and_never_evicts() -> None:
    command = " ".join(compose()["services"]["redis"]["command"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command


def test_worker_points_at_the_compose_redis_and_is_scalable() -> None:
    worker = compose()["services"]["worker"]
    assert worker["environment"]["DIALER_REDIS_URL"] == "redis://redis:6379/0"
    assert "ports" not in worker and "container_name" not in worker  # --scale needs this


def test_worker_command_is_the_celery_app_of_this_project() -> None:
    command = compose()["services"]["worker"]["command"]
    assert command[:3] == ["celery", "-A", "tasks"]
    # What `celery -A tasks` resolves: an app that carries place_call on the configured Redis.
    code = (
        "from celery.app.utils import find_app\n"
        "app = find_app('tasks')\n"
        "print(app.main, 'dialer.place_call' in app.tasks, app.conf.broker_url)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"DIALER_REDIS_URL": "redis://127.0.0.1:1/0", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["dialer", "True", "redis://127.0.0.1:1/0"]


def test_simulator_command_parses_with_the_dialer_cli() -> None:
    from dialer.cli.main import build_parser

    command = compose()["services"]["simulator"]["command"]
    assert command[0] == "dialer"
    args = build_parser().parse_args(command[1:])
    assert args.handler.__name__ == "cmd_simulator"
    assert args.number == ["02151234567", "02151234568"]


def test_flower_runs_on_the_projects_app() -> None:
    assert compose()["services"]["flower"]["command"][:4] == ["celery", "-A", "tasks", "flower"]


def test_image_entry_points_exist_after_install() -> None:
    assert shutil.which("dialer") or (Path(sys.executable).parent / "dialer").exists()
    assert (Path(sys.executable).parent / "celery").exists()


def test_web_command_parses_with_the_dialer_cli_and_shares_the_redis() -> None:
    from dialer.cli.main import build_parser

    web = compose()["services"]["web"]
    args = build_parser().parse_args(web["command"][1:])
    assert args.handler.__name__ == "cmd_web" and args.host == "0.0.0.0"
    assert web["environment"]["DIALER_REDIS_URL"] == "redis://redis:6379/0"
    assert web["ports"] == ["127.0.0.1:8000:8000"]  # published on the host's localhost only
