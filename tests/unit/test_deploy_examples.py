"""The deployment examples in deploy/ (README "Deploying for a province") say what certpost understands:
the environment file's every variable is a setting and the whole file loads as sh and systemd read it;
the systemd unit's command line is one `certpost` accepts. (deploy/nginx.conf is run by
tests/e2e/test_nginx_e2e.py.)"""

from __future__ import annotations

import configparser
import os
import shlex
import subprocess
from pathlib import Path

from logistics.cli import parser
from logistics.config import Settings
from logistics.web.client_address import networks

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _env_file_as_sh_reads_it() -> dict[str, str]:
    script = f"set -a; . {shlex.quote(str(DEPLOY / 'certpost.env'))}; env -0"
    out = subprocess.run(["sh", "-c", script], env={}, capture_output=True, check=True).stdout
    pairs = (item.split("=", 1) for item in out.decode().split("\0") if "=" in item)
    return {k: v for k, v in pairs if k.startswith("CERTPOST_")}


def test_every_variable_of_the_env_file_is_a_setting(monkeypatch):
    env = _env_file_as_sh_reads_it()
    assert env, "deploy/certpost.env sets no CERTPOST_ variable"
    unknown = {k for k in env if k.removeprefix("CERTPOST_").lower() not in Settings.model_fields}
    assert not unknown, f"not settings of logistics/config.py: {sorted(unknown)}"
    for key in [k for k in os.environ if k.startswith("CERTPOST_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert isinstance(settings.clients, dict) and settings.clients  # the JSON survived the quoting
    assert networks(settings.trusted_proxies)  # nginx's address
    assert settings.console_cookie_secure is True


def _unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read(DEPLOY / "certpost@.service")
    return unit


def test_the_unit_runs_serve_on_its_instance_port():
    unit = _unit()
    argv = shlex.split(unit["Service"]["ExecStart"].replace("%i", "8081"))
    assert Path(argv[0]).name == "certpost"
    args = parser().parse_args(argv[1:])
    assert (args.command, args.host, args.port) == ("serve", "127.0.0.1", 8081)
    assert unit["Service"]["EnvironmentFile"] == "/etc/certpost/certpost.env"
    assert "/etc/certpost/certpost.env" in (DEPLOY / "certpost.env").read_text()
    # nginx's example sends to the instances the unit's comment names.
    nginx = (DEPLOY / "nginx.conf").read_text()
    assert "server 127.0.0.1:8081 " in nginx and "server 127.0.0.1:8082 " in nginx
