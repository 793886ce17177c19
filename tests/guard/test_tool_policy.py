"""Tool policy decisions from YAML and TOML files, and clear errors for malformed files."""

from __future__ import annotations

from pathlib import Path

import pytest

from hanstack.guard.tools import PolicyFileError, ToolPolicy

HERE = Path(__file__).parent / "policies"
GOOD_TRANSFER = {"amount": 50000, "currency": "KRW", "account": "123-45-678901"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["enterprise.yaml", "enterprise.toml"])
def policy(request: pytest.FixtureRequest) -> ToolPolicy:
    return ToolPolicy.load(HERE / request.param)


def test_yaml_and_toml_load_the_same_policy() -> None:
    assert ToolPolicy.load(HERE / "enterprise.yaml").model == ToolPolicy.load(HERE / "enterprise.toml").model


def test_allow_by_pattern(policy: ToolPolicy) -> None:
    d = policy.decide("acme", "analyst", "erp.get_order", {"id": 7})
    assert d.allowed and d.rule == "rules[0].allow" and "erp.get_*" in d.reason and d.tool_class == "read"


def test_deny_beats_allow(policy: ToolPolicy) -> None:
    d = policy.decide("acme", "analyst", "erp.get_salary_table")
    assert not d.allowed and d.rule == "rules[0].deny" and "erp.get_salary*" in d.reason


def test_deny_by_default(policy: ToolPolicy) -> None:
    for tenant, role, tool in [
        ("acme", "analyst", "mes.stop_line"),
        ("other", "analyst", "erp.get_order"),
        ("acme", "intern", "erp.get_order"),
    ]:
        d = policy.decide(tenant, role, tool)
        assert not d.allowed and d.rule == "default" and "deny by default" in d.reason


def test_class_restriction(policy: ToolPolicy) -> None:
    assert policy.decide("any", "operator", "scada.read_temperature").allowed
    d = policy.decide("any", "operator", "erp.create_order")
    assert not d.allowed and "class 'write'" in d.reason and d.rule == "rules[1].classes"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({**GOOD_TRANSFER, "amount": 5_000_000}, "exceeds the maximum 1e+06"),
        ({**GOOD_TRANSFER, "amount": 0}, "below the minimum"),
        ({**GOOD_TRANSFER, "amount": "많이"}, "not a number"),
        ({**GOOD_TRANSFER, "currency": "EUR"}, "not one of"),
        ({**GOOD_TRANSFER, "account": "12-345"}, "does not match"),
        ({"amount": 100, "currency": "KRW"}, "argument 'account' is required"),
    ],
)
def test_argument_constraints(policy: ToolPolicy, args: dict, fragment: str) -> None:
    d = policy.decide("acme", "manager", "finance.transfer", args, approved=True)
    assert not d.allowed and fragment in d.reason and "constraints" in (d.rule or "")


def test_max_length_and_numeric_strings(policy: ToolPolicy) -> None:
    assert not policy.decide("acme", "analyst", "erp.create_order", {"memo": "x" * 21}).allowed
    d = policy.decide(
        "acme", "analyst", "finance.transfer", {**GOOD_TRANSFER, "amount": "1,000"}, approved=True
    )
    assert d.allowed


def test_approval(policy: ToolPolicy) -> None:
    d = policy.decide("acme", "analyst", "finance.transfer", GOOD_TRANSFER)
    assert not d.allowed and d.needs_approval and "approval" in d.reason
    ok = policy.decide("acme", "analyst", "finance.transfer", GOOD_TRANSFER, approved=True)
    assert ok.allowed and not ok.needs_approval and "(approved)" in ok.reason
    tool_level = policy.decide("acme", "analyst", "scada.stop_line")
    assert tool_level.needs_approval and "tools['scada.*'].approval" in tool_level.reason


def test_rate_limit_window() -> None:
    clock = Clock()
    policy = ToolPolicy.from_text((HERE / "enterprise.yaml").read_text(encoding="utf-8"))
    policy._clock = clock
    for _ in range(3):
        assert policy.decide("acme", "analyst", "erp.get_order").allowed
    assert policy.decide("acme", "analyst", "erp.get_order", record=False).allowed is False
    d = policy.decide("acme", "analyst", "erp.get_stock")
    assert not d.allowed and "rate limit 3/minute" in d.reason and d.retry_after_s == 60.0
    assert policy.decide("acme", "manager", "erp.get_order").allowed  # counted per tenant+role
    clock.now += 61
    assert policy.decide("acme", "analyst", "erp.get_order").allowed


def test_dry_run_does_not_consume(policy: ToolPolicy) -> None:
    for _ in range(10):
        assert policy.decide("acme", "analyst", "erp.get_order", record=False).allowed


def test_refusals_do_not_count_against_limits(policy: ToolPolicy) -> None:
    for _ in range(10):
        policy.decide(
            "acme", "analyst", "finance.transfer", {**GOOD_TRANSFER, "amount": 10**9}, approved=True
        )
    assert policy.decide("acme", "analyst", "erp.get_order").allowed


# --- malformed files -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "content", "fragments"),
    [
        ("bad.yaml", "rules:\n  - tenant: [acme\n", ["invalid YAML", "line"]),
        ("bad.toml", "[[rules]\ntenant = 'a'\n", ["invalid TOML", "line 1"]),
        (
            "typo.yaml",
            "version: 1\nrules:\n  - tenant: acme\n    alow: [x]\n",
            ["rules[0].alow", "line 4", "Extra inputs"],
        ),
        ("typo.toml", "version = 1\n[[rules]]\ntenant = 'a'\nalow = ['x']\n", ["rules[0].alow", "line 4"]),
        (
            "num.yaml",
            "rules:\n  - allow: [pay]\n    constraints:\n      pay:\n        amount: {max: lots}\n",
            ["rules[0].constraints.pay.amount.max", "line 5"],
        ),
        (
            "regex.yaml",
            "rules:\n  - constraints:\n      pay:\n        account: {regex: '[a-'}\n",
            ["invalid regular expression"],
        ),
        ("version.yaml", "version: 2\n", ["key 'version'"]),
        ("default.yaml", "default: allow\n", ["key 'default'"]),
        ("limit.yaml", "rate_limits:\n  - {tool: x}\n", ["per_minute or per_hour"]),
        ("list.yaml", "- just\n- a list\n", ["mapping at the top level"]),
    ],
)
def test_malformed_policy_files_name_the_problem(
    tmp_path: Path, name: str, content: str, fragments: list[str]
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PolicyFileError) as info:
        ToolPolicy.load(path)
    message = info.value.message
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match="cannot read tool policy"):
        ToolPolicy.load(tmp_path / "nope.yaml")


def test_empty_policy_denies_everything(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    d = ToolPolicy.load(tmp_path / "empty.yaml").decide("t", "r", "anything")
    assert not d.allowed and d.rule == "default"
