"""Channel secrets never leak: not in any command's output (stdout, stderr, --json,
--verbose logs), not in the database or its WAL, whatever the receivers answer (a
success, a 500, a 404, a redirect to another host, an answer echoing the URL). And a
config file holding them, readable by others, is warned about by key, never by value."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from clitools import cli_invoker
from localserver import LocalServer, Reply

A, B, C, D = "+12025550101", "+12025550102", "+12025550103", "+12025550104"
SLACK_TOKEN = "SEKRETslack123"
WEBHOOK_KEY = "SEKRETwebhookkey123456"
PATH_TOKEN = "SEKRETwebpath789"
SLACK_PATH = f"/services/T0/B0/{SLACK_TOKEN}"
HOOK_PATH = f"/receiver/{PATH_TOKEN}"
PLUGINS = "fake_sources,cidrep_plugins.slack,cidrep_plugins.webhook"


def spellings(secret: str) -> list[bytes]:
    """How a secret could show up: as is, URL-encoded (alone or inside its URL), JSON,
    base64, and in any letter case (the search lowercases both sides)."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    forms.add(base64.b64encode(secret.encode()).decode())
    return [f.lower().encode() for f in forms]


SECRETS = {s: spellings(s) for s in (SLACK_TOKEN, WEBHOOK_KEY, PATH_TOKEN)}


def leaks(blob: str | bytes) -> list[str]:
    data = (blob.encode() if isinstance(blob, str) else blob).lower()
    return [name for name, forms in SECRETS.items() if any(f in data for f in forms)]


@pytest.fixture
def cli(tmp_path, monkeypatch):
    return cli_invoker(tmp_path, monkeypatch, PLUGINS)


def config(url: str, flag: list[str]) -> str:
    return (
        "[sources.fakefeed]\nenabled = false\n"
        f"[sources.fake]\nflag = {json.dumps(flag)}\nconfirm_after = 1\nrecover_after = 1\n"
        f'[channels.ops]\ntype = "slack"\nurl = "{url}{SLACK_PATH}"\n'
        f'[channels.hook]\ntype = "webhook"\nurl = "{url}{HOOK_PATH}"\n'
        f'secret = "{WEBHOOK_KEY}"\n'
    )


def verbose_check(tmp_path: Path) -> subprocess.CompletedProcess:
    """``--verbose check`` in a process of its own: real stderr, real logging setup."""
    env = {
        **os.environ,
        "CIDREP_LOAD_PLUGINS": PLUGINS,
        "PYTHONPATH": str(Path(__file__).parent),
    }
    return subprocess.run(
        [sys.executable, "-m", "cidrep", "--verbose", "check", "--force"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_channel_secrets_never_reach_output_logs_or_the_database(cli, tmp_path):
    answer = {"now": lambda _r: Reply(200, "ok")}
    with LocalServer() as server, LocalServer() as elsewhere:
        full = {SLACK_PATH: server.url + SLACK_PATH, HOOK_PATH: server.url + HOOK_PATH}
        for path in full:
            server.route(path, lambda r: answer["now"](r))
        outputs: list[str] = []

        def run(*args: str, flag: list[str] | None = None):
            text = None if flag is None else config(server.url, flag)
            result = cli(*args, config_text=text)
            outputs.extend([result.stdout, result.stderr])
            return result

        run("numbers", "add", A, B, C, D, flag=[])
        assert run("check", flag=[A]).exit_code == 1  # delivered to both
        # A receiver echoing the whole URL it was called on, then one echoing the key.
        answer["now"] = lambda r: Reply(500, f"upstream failed for {full[r.path]}")
        failing = run("check", "--force", flag=[A, B])
        assert failing.stdout.count("DELIVERY FAILING") == 2
        answer["now"] = lambda r: Reply(404, f"no such hook {full[r.path]} key={WEBHOOK_KEY}")
        gone = run("check", "--force", flag=[A, B, C])
        assert gone.stdout.count("permanent") == 2
        answer["now"] = lambda r: Reply(302, "", {"Location": elsewhere.url + r.path})
        moved = run("check", "--force", flag=[A, B, C, D])
        assert moved.stdout.count("redirect") == 2
        assert elsewhere.requests == []  # never followed

        # --verbose (debug logs on stderr) on a run whose deliveries fail: A cleared.
        answer["now"] = lambda r: Reply(503, f"try later: {full[r.path]}")
        (tmp_path / "config.toml").write_text(config(server.url, [B, C, D]))
        verbose = verbose_check(tmp_path)
        assert verbose.returncode == 1, verbose.stderr
        assert verbose.stdout.count("DELIVERY FAILING") == 2 and "CLEARED" in verbose.stdout
        outputs.extend([verbose.stdout, verbose.stderr])

        checked = run("check", "--force", "--json")
        assert checked.exit_code == 1 and json.loads(checked.stdout)["run_id"]
        listed = json.loads(run("alerts", "list", "--json").stdout)
        errors = [d["last_error"] for a in listed for d in a["deliveries"] if d["last_error"]]
        assert len(errors) == 8  # 500s and 503s (pending), 404s and redirects (failed)
        run("alerts", "list")
        channels = json.loads(run("channels", "list", "--json").stdout)
        assert {c["name"]: c["health"] for c in channels} == {"hook": "failing", "ops": "failing"}
        run("channels", "list")
        assert "failing" in run("status").stdout
        assert json.loads(run("digest", "--json").stdout)["channels_failing"] == ["hook", "ops"]
        run("digest")
        dry = run("alerts", "test", "--dry-run")
        assert dry.exit_code == 0 and "X-Cidrep-Signature" in dry.stdout

        # The receiver did get what it needs (it is the one place the URL belongs) ...
        sent = [r for r in server.requests if r.method == "POST"]
        assert {r.path for r in sent} == {SLACK_PATH, HOOK_PATH}
        # ... and the webhook key itself never travelled: only its signature.
        assert leaks(b"".join(r.body + json.dumps(r.headers).encode() for r in sent)) == []

    assert leaks("\n".join(outputs)) == []
    files = sorted(tmp_path.glob("cidrep.db*"))
    assert files[0].name == "cidrep.db" and files[0].stat().st_size > 0
    assert leaks(b"".join(p.read_bytes() for p in files)) == []


def test_an_answer_echoing_only_the_path_is_redacted_too(cli, tmp_path):
    """Many servers answer "Cannot POST /services/T0/B0/XXXX": the path alone is the
    Slack token, so quoting the answer must not quote it."""
    with LocalServer() as server:
        for path in (SLACK_PATH, HOOK_PATH):
            server.route(path, lambda r: Reply(404, f"Cannot POST {r.path}"))
        cli("numbers", "add", A, config_text=config(server.url, [A]))
        result = cli("check")
        assert result.stdout.count("DELIVERY FAILING") == 2
        listed = cli("alerts", "list", "--json").stdout
        status = cli("status").stdout
    assert "Cannot POST" in result.stdout  # the answer is quoted, redacted
    assert leaks(result.output + listed + status) == []
    assert leaks(b"".join(p.read_bytes() for p in tmp_path.glob("cidrep.db*"))) == []


@pytest.mark.parametrize("mode", [0o644, 0o640])
def test_a_readable_config_holding_a_channel_url_is_warned_about_by_key(cli, tmp_path, mode):
    path = tmp_path / "config.toml"
    path.write_text(config("https://hooks.example", []))
    path.chmod(mode)
    result = cli("channels", "list")
    assert result.exit_code == 0
    (warning,) = [line for line in result.stderr.splitlines() if "holds secrets" in line]
    assert "channels.ops.url" in warning and "channels.hook.secret" in warning
    assert f"chmod 600 {path}" in warning
    assert leaks(result.output) == [] and "hooks.example" not in result.stderr

    path.chmod(0o600)
    assert "holds secrets" not in cli("channels", "list").stderr
