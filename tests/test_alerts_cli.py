"""The alert commands end to end through the CLI, against a real HTTP server on 127.0.0.1:
``alerts test``, ``channels list``, routing by account, ``digest``, ``mute``, source
failing/recovered notices, config errors for channel sections, the environment, and what
``check`` prints for cron."""

from __future__ import annotations

import json
import time

import pytest
from clitools import cli_invoker
from localserver import LocalServer, Reply

A, B, C, D = "+12025550101", "+12025550102", "+12025550103", "+12025550104"
OPS = "/services/T0/B0/opspathtoken"
CUST = "/services/T1/B1/custpathtoken"
HOOK = "/receiver/hookpathtoken"
PLUGINS = "fake_sources,cidrep_plugins.slack,cidrep_plugins.webhook"


@pytest.fixture
def cli(tmp_path, monkeypatch):
    return cli_invoker(tmp_path, monkeypatch, PLUGINS)


@pytest.fixture
def server():
    with LocalServer() as srv:
        for path in (OPS, CUST, HOOK):
            srv.route(path, Reply(200, "ok"))
        yield srv


def sources(flag=(), fail: bool = False, extra: str = "") -> str:
    return (
        "[sources.fakefeed]\nenabled = false\n"
        f"[sources.fake]\nflag = {json.dumps(list(flag))}\nconfirm_after = 1\n"
        f"recover_after = 1\nfail = {str(fail).lower()}\n" + extra
    )


def slack(name: str, url: str, extra: str = "") -> str:
    return f'[channels.{name}]\ntype = "slack"\nurl = "{url}"\n{extra}'


def two(srv: LocalServer) -> str:
    """ops and cust, both slack; which is global depends on the routes."""
    return slack("ops", srv.url + OPS) + slack("cust", srv.url + CUST)


def posts(srv: LocalServer, path: str | None = None) -> list:
    return [r for r in srv.requests if r.method == "POST" and path in (None, r.path)]


def masked(target: str, srv: LocalServer) -> bool:
    """Scheme, host and port, at most the first path part: never the token path."""
    return target in (f"{srv.url}/***", f"{srv.url}/services/***")


def err_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


# --- alerts test ---------------------------------------------------------------------


def test_alerts_test_dry_run_prints_each_enabled_payload_and_sends_nothing(cli, server):
    text = (
        slack("ops", server.url + OPS)
        + f'[channels.hook]\ntype = "webhook"\nurl = "{server.url}{HOOK}"\n'
        + 'secret = "0123456789abcdef0123"\n'
        + slack("off", server.url + CUST, "enabled = false\n")
    )
    dry = cli("alerts", "test", "--dry-run", config_text=text)
    assert dry.exit_code == 0, dry.output
    assert server.requests == []
    heads = [line for line in dry.stdout.splitlines() if line.startswith("# ")]
    assert [h.split(" -> ")[0] for h in heads] == ["# hook (webhook)", "# ops (slack)"]
    assert all(masked(h.split(" -> ")[1], server) for h in heads)
    chunks = ("\n" + dry.stdout).split("\n# ")[1:]
    payloads = [json.loads(chunk.split("\n", 1)[1]) for chunk in chunks]
    hook, ops = payloads
    assert hook["body"]["kind"] == "test" and hook["headers"]["X-Cidrep-Signature"]
    assert ops["body"]["blocks"] and ops["body"]["text"].startswith("[test] ")
    assert "pathtoken" not in dry.output

    sent = cli("alerts", "test")
    assert sent.exit_code == 0, sent.output
    assert [len(posts(server, p)) for p in (OPS, HOOK, CUST)] == [1, 1, 0]
    assert sorted(line.split(":")[0] for line in sent.stdout.splitlines()) == ["hook", "ops"]


def test_alerts_test_unknown_channel_failure_and_no_channels(cli, server):
    server.route(CUST, Reply(404, "no_service"))
    cli("channels", "list", config_text=two(server))
    unknown = cli("alerts", "test", "--channel", "nope")
    assert unknown.exit_code == 2 and len(err_lines(unknown)) == 1
    assert "'nope'" in unknown.stderr and "configured: cust, ops" in unknown.stderr
    assert server.requests == []

    failed = cli("alerts", "test")
    assert failed.exit_code == 3
    assert len(err_lines(failed)) == 1 and "cust: FAILED" in failed.stderr
    assert "ops: sent a test alert" in failed.stdout  # the other channel still got it
    only_ops = cli("alerts", "test", "--channel", "ops")
    assert only_ops.exit_code == 0 and len(posts(server, OPS)) == 2

    none = cli("alerts", "test", config_text="")
    assert none.exit_code == 2 and len(err_lines(none)) == 1
    assert "no channels configured" in none.stderr and "[channels.<name>]" in none.stderr


# --- channels list ----------------------------------------------------------------------


def test_channels_list_masks_targets_and_shows_routing_and_health(cli, server):
    reply = {"now": Reply(200, "ok")}
    server.route(OPS, lambda _r: reply["now"])
    text = sources([A]) + two(server) + slack("off", server.url + CUST, "enabled = false\n")
    cli("numbers", "add", A, B, config_text=text)
    cli("accounts", "add", "acme")
    assert cli("accounts", "set", "acme", "--channel", "cust").exit_code == 0

    def rows():
        result = cli("channels", "list", "--json")
        assert result.exit_code == 0 and "pathtoken" not in result.output
        return {r["name"]: r for r in json.loads(result.stdout)}

    before = rows()
    assert {n: r["health"] for n, r in before.items()} == {
        "cust": "never",
        "off": "disabled",
        "ops": "never",
    }
    assert masked(before["ops"]["target"], server)
    assert before["ops"]["type"] == "slack" and before["ops"]["accounts"] is None
    assert before["cust"]["accounts"] == ["acme"]
    table = cli("channels", "list").stdout.splitlines()
    assert table[0].split()[:5] == ["CHANNEL", "TYPE", "TARGET", "ACCOUNTS", "HEALTH"]
    by_name = {line.split()[0]: line.split() for line in table[1:]}
    assert by_name["ops"][:5] == ["ops", "slack", before["ops"]["target"], "(global)", "never"]
    assert by_name["cust"][3:5] == ["acme", "never"] and by_name["off"][4] == "disabled"

    assert cli("check").exit_code == 1  # A flagged: delivered to ops
    assert rows()["ops"]["health"] == "ok"
    reply["now"] = Reply(500, "rollup_error")
    cli("check", "--force", config_text=sources([A, B]) + two(server))
    failing = rows()["ops"]
    assert failing["health"] == "failing" and "500" in failing["last_error"]
    listed = cli("channels", "list").stdout
    assert "failing" in listed and "rollup_error" in listed and "pathtoken" not in listed


# --- routing ----------------------------------------------------------------------------


def test_alerts_follow_account_routes_and_clear_channels_restores_global(cli, server):
    cli("numbers", "add", A, config_text=sources() + two(server))
    cli("accounts", "add", "acme")
    assert cli("--account", "acme", "numbers", "add", D).exit_code == 0
    assert cli("accounts", "set", "acme", "--channel", "cust").exit_code == 0

    acme = cli("check", config_text=sources([D]) + two(server))
    assert acme.exit_code == 1 and len(acme.stdout.splitlines()) == 1
    assert "202-555-0104" in acme.stdout and acme.stdout.rstrip().endswith("-> cust, ops")
    assert (len(posts(server, OPS)), len(posts(server, CUST))) == (1, 1)
    default = cli("check", "--force", config_text=sources([D, A]) + two(server))
    assert len(default.stdout.splitlines()) == 1 and "202-555-0101" in default.stdout
    assert default.stdout.rstrip().endswith("-> ops")
    assert (len(posts(server, OPS)), len(posts(server, CUST))) == (2, 1)

    bad = cli("accounts", "set", "acme", "--channel", "nope")
    assert bad.exit_code == 2 and "'nope'" in bad.stderr
    nothing = cli("accounts", "set", "acme")
    assert nothing.exit_code == 2 and "nothing to change" in nothing.stderr
    routed = json.loads(cli("channels", "list", "--json").stdout)
    assert {r["name"]: r["accounts"] for r in routed} == {"cust": ["acme"], "ops": None}

    cleared = cli("accounts", "set", "acme", "--clear-channels")
    assert cleared.exit_code == 0 and "global channels" in cleared.stdout
    assert "note: channel 'cust' is now routed to no account, so it is global" in cleared.stderr
    routed = json.loads(cli("channels", "list", "--json").stdout)
    assert {r["name"]: r["accounts"] for r in routed} == {"cust": None, "ops": None}
    # Routed to no account, cust is now a global channel itself: it hears everything.
    again = cli("check", "--force", config_text=sources([A]) + two(server))  # D cleared
    assert again.stdout.rstrip().endswith("-> cust, ops")


# --- digest -----------------------------------------------------------------------------


def test_digest_counts_flags_and_send_delivers_one_digest_to_the_global_channel(cli, server):
    cli("numbers", "add", A, B, C, config_text=sources([A]) + two(server))
    cli("accounts", "add", "acme")
    cli("accounts", "set", "acme", "--channel", "cust")  # cust is not global
    cli("check")
    out = cli("digest")
    assert out.exit_code == 0
    assert out.stdout.startswith("cidrep digest: 1 of 3 numbers flagged")
    assert "1 newly flagged: +1 202-555-0101" in out.stdout
    facts = json.loads(cli("digest", "--json").stdout)
    assert (facts["numbers"], facts["flagged"]) == (3, 1)
    assert [f["number"] for f in facts["new_flags"]] == [A] and facts["recoveries"] == []
    assert len(posts(server)) == 1  # printing it sends nothing

    sent = cli("digest", "--send")
    assert sent.exit_code == 0 and "delivered 1 message(s)" in sent.stdout
    assert (len(posts(server, OPS)), len(posts(server, CUST))) == (2, 0)
    body = json.loads(posts(server, OPS)[-1].body)
    assert "1 of 3 numbers flagged" in body["text"]
    digests = [
        a for a in json.loads(cli("alerts", "list", "--json").stdout) if a["kind"] == "digest"
    ]
    assert len(digests) == 1 and [d["channel"] for d in digests[0]["deliveries"]] == ["ops"]
    assert digests[0]["key"] == posts(server, OPS)[-1].headers["X-Cidrep-Idempotency-Key"]


def test_an_account_scoped_digest_counts_only_that_account(cli, server):
    cli("numbers", "add", A, B, C, config_text=sources([A, D]) + two(server))
    cli("accounts", "add", "acme")
    cli("--account", "acme", "numbers", "add", D, "+12025550105")
    cli("check")
    scoped = json.loads(cli("--account", "acme", "digest", "--json").stdout)
    assert (scoped["numbers"], scoped["flagged"]) == (2, 1)
    assert [f["number"] for f in scoped["new_flags"]] == [D]
    assert "1 of 2 numbers flagged" in cli("--account", "acme", "digest").stdout
    everyone = json.loads(cli("digest", "--json").stdout)
    assert (everyone["numbers"], everyone["flagged"]) == (5, 2)


# --- mute -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("--for", "1h"),
        (A, "--tag", "vip", "--for", "1h"),
        (A, "--account", "default", "--for", "1h"),
        ("--tag", "vip", "--account", "default", "--for", "1h"),
        (A, "--for", "soon"),
        (A, "--for", "0s"),
    ],
)
def test_mute_needs_one_scope_and_a_valid_duration(cli, args):
    cli("numbers", "add", A, "--tag", "vip")
    result = cli("mute", *args)
    assert result.exit_code == 2 and len(err_lines(result)) == 1, result.output
    assert "muted" not in result.stdout


@pytest.mark.parametrize(
    "args",
    [("mute", A), ("mute", A, "--for"), ("alerts", "test", "--bogus"), ("accounts", "add")],
)
def test_usage_errors_exit_2_not_as_internal_errors(cli, args):
    """typer 0.29 raises its own copy of click's exceptions: still usage errors."""
    cli("numbers", "add", A)
    result = cli(*args)
    assert result.exit_code == 2 and "internal error" not in result.output


def test_mute_by_tag_holds_only_tagged_alerts_and_never_hides_the_state(cli, server):
    cli("numbers", "add", A, "--tag", "vip", config_text=sources() + two(server))
    cli("numbers", "add", B)
    cli("check")
    muted = cli("mute", "--tag", "vip", "--for", "1h")
    assert muted.exit_code == 0 and "muted 1 number(s)" in muted.stdout

    run = cli("check", "--force", config_text=sources([A, B]) + two(server))
    assert run.exit_code == 1
    lines = run.stdout.splitlines()
    assert len(lines) == 2
    held = next(line for line in lines if "202-555-0101" in line)
    sent = next(line for line in lines if "202-555-0102" in line)
    assert "[held: " in held and "->" not in held
    assert sent.endswith("-> cust, ops")
    assert len(posts(server)) == 2  # B to both channels; nothing about A
    assert all("202-555-0102" in json.loads(p.body)["text"] for p in posts(server))

    listed = json.loads(cli("alerts", "list", "--json").stdout)
    flags = {a["number"]: a for a in listed if a["kind"] == "flagged"}
    assert flags[A]["held"] and flags[A]["deliveries"] == []
    assert flags[B]["held"] is None and len(flags[B]["deliveries"]) == 2
    assert "[held: " in cli("alerts", "list").stdout

    status = cli("status").stdout
    row = next(line for line in status.splitlines() if "202-555-0101" in line)
    assert "flagged" in row.split()
    assert cli("check", "--force").exit_code == 1
    assert cli("check", "--force", "--number", A).exit_code == 1  # a mute hides nothing


# --- source failing ---------------------------------------------------------------------


def test_a_failing_source_is_announced_once_and_its_recovery_once(cli, server):
    failing = sources(fail=True, extra="[alerts]\nfailing_after = 3\n") + two(server)
    cli("numbers", "add", A, B, config_text=failing)
    cli("accounts", "add", "acme")
    cli("accounts", "set", "acme", "--channel", "cust")  # ops is the one global channel
    outputs = [cli("check", "--force").stdout for _ in range(3)]
    assert outputs[:2] == ["", ""]
    notices = [line for line in outputs[2].splitlines() if line.startswith("SOURCE FAILING")]
    assert len(notices) == 1 and "fake" in notices[0] and notices[0].endswith("-> ops")
    assert len(posts(server)) == 1 and posts(server, OPS)
    assert [cli("check", "--force").stdout for _ in range(2)] == ["", ""]
    assert len(posts(server)) == 1

    time.sleep(1.1)  # timestamps have second precision: a success must come later
    healthy = cli("check", "--force", config_text=sources() + two(server))
    assert healthy.exit_code == 0, healthy.output
    recovered = [line for line in healthy.stdout.splitlines() if line.strip()]
    assert len(recovered) == 1 and recovered[0].startswith("SOURCE RECOVERED")
    assert len(posts(server)) == len(posts(server, OPS)) == 2
    assert cli("check", "--force").stdout == ""


# --- config errors and the environment --------------------------------------------------

SECRET_URL = "https://hooks.example/services/T9/B9/VALUEtokenZZ"


@pytest.mark.parametrize(
    ("section", "names", "also"),
    [
        (f'[channels.ops]\ntype = "slak"\nurl = "{SECRET_URL}"\n', "channels.ops.type", "slack"),
        ('[channels.ops]\ntype = "slack"\n', "channels.ops.url", ""),
        (f'[channels.Ops]\ntype = "slack"\nurl = "{SECRET_URL}"\n', "channels.Ops", "lowercase"),
        (f'[channels."o ps"]\ntype = "slack"\nurl = "{SECRET_URL}"\n', "channels.o ps", "lower"),
        (
            f'[alerts]\nquorum = 0\n[channels.ops]\ntype = "slack"\nurl = "{SECRET_URL}"\n',
            "alerts.quorum",
            "",
        ),
        (f'[channels.ops]\ntype = "slack"\nurl = "{SECRET_URL} x"\n', "channels.ops.url", ""),
    ],
)
def test_channel_config_errors_are_one_line_naming_the_key(cli, section, names, also):
    result = cli("channels", "list", config_text=section)
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = err_lines(result)
    assert f": {names}: " in line and also in line
    if names.endswith(".type"):
        assert "slack, webhook" in line  # the known types
    assert "VALUEtoken" not in result.output and "hooks.example" not in result.output


def test_a_missing_channel_url_is_not_blamed_on_an_unset_variable(cli):
    result = cli("channels", "list", config_text='[channels.ops]\ntype = "slack"\n')
    assert "environment variable" not in result.stderr
    assert "config file" in result.stderr and "channels.ops.url: missing" in result.stderr


def test_the_environment_supplies_a_channel_url(cli, server, monkeypatch):
    monkeypatch.setenv("CIDREP_CHANNELS__OPS__URL", server.url + OPS)
    text = sources([A]) + '[channels.ops]\ntype = "slack"\n'
    cli("numbers", "add", A, config_text=text)
    (row,) = json.loads(cli("channels", "list", "--json").stdout)
    assert masked(row["target"], server) and row["health"] == "never"
    assert cli("check").stdout.rstrip().endswith("-> ops")
    assert len(posts(server, OPS)) == 1
    (row,) = json.loads(cli("channels", "list", "--json").stdout)
    assert row["health"] == "ok"


# --- cron output ------------------------------------------------------------------------


def test_check_prints_only_news_for_cron(cli, server):
    cli("numbers", "add", A, B, C, config_text=sources([A]) + two(server))
    first = cli("check")
    assert first.exit_code == 1
    (line,) = first.stdout.splitlines()
    assert line.startswith("FLAGGED ") and "202-555-0101" in line
    again = cli("check", "--force")
    assert again.exit_code == 1 and again.stdout == "" and again.stderr == ""
    nothing_due = cli("check")
    assert nothing_due.exit_code == 1 and nothing_due.output == ""
