"""A new deployment from the operator's terminal: ``oip db upgrade``, ``oip orgs add``, ``oip users
create`` — the first administrator, who then manages the rest in the application — and the accounts
no role in the application may grant (finance's). On a database of its own: a fresh deployment."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from oip.auth import service
from oip.auth.models import Organisation, User
from oip.core import audit
from oip.core.audit_models import AuditEvent
from oip.core.errors import DomainError, Forbidden
from tests.conftest import migrated_database, run_oip

pytestmark = pytest.mark.slow  # commands in processes of their own


@pytest.fixture(scope="module")
def fresh(database):
    """A new deployment: migrated and given its reference data by the operator's own command."""
    with migrated_database(database, "oip_provision") as (url, make):
        up = run_oip(url, "db", "upgrade")
        assert up.returncode == 0, up.stderr
        yield url, make


def _ok(r) -> dict:
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _refused(r) -> str:
    assert r.returncode == 2, (r.stdout, r.stderr)
    return " ".join(r.stderr.split())  # rich may wrap a long reason


def _tax_officer(url: str, password: str):
    """``oip users create`` of the tax bureau's officer, the password given on stdin."""
    return run_oip(
        url,
        "users",
        "create",
        "zhang_tax",
        "--name",
        "张工",
        "--role",
        "tax",
        "--org",
        "gx-tax",
        "--password-stdin",
        stdin=password + "\n",
    )


def _users(make) -> int:
    with make() as s:
        return s.scalar(select(func.count()).select_from(User))


def test_the_first_administrator_comes_from_the_terminal_and_manages_the_rest_in_the_app(fresh):
    url, make = fresh
    assert _users(make) == 0  # nobody could sign in
    _ok(
        run_oip(
            url,
            "orgs",
            "add",
            "gx-si",
            "--name",
            "广西壮族自治区社会保险事业局",
            "--kind",
            "si_agency",
            "--region",
            "450000",
        )
    )
    _ok(
        run_oip(
            url, "orgs", "add", "nn-si", "--name", "南宁市社会保险事业局", "--kind", "si_agency", "--region", "450100"
        )
    )
    made = _ok(run_oip(url, "users", "create", "mo_gong", "--name", "莫工", "--role", "si_region", "--org", "gx-si"))
    assert made["must_change_password"] is True and made["role"] == "si_region"
    pw = made["one_time_password"]
    assert len(pw) >= 12

    listed = {o["code"]: o for o in _ok(run_oip(url, "orgs", "list", "--json"))}
    assert listed["gx-si"]["kind_name"] == "社会保险经办机构" and listed["gx-si"]["users"] == 1
    assert listed["nn-si"]["region_name"] == "南宁市"

    with make() as s:
        with pytest.raises(service.BadCredentials):
            service.sign_in(s, "mo_gong", "not-the-password", "127.0.0.1")
        s.commit()
        _, admin = service.sign_in(s, "mo_gong", pw, "127.0.0.1")
        user = s.scalar(select(User).where(User.username == "mo_gong"))
        assert user.must_change_password and user.password_hash != pw
        # The administrator makes a city officer in the application, in their own scope.
        nn = s.scalar(select(Organisation).where(Organisation.code == "nn-si"))
        officer = service.create_user(
            s,
            admin,
            username="meng_gong",
            display_name="蒙工",
            organisation_id=nn.id,
            role_code="si_city",
            password="南宁经办一号窗口2026",
        )
        assert officer.organisation.region_code == "450100"
        s.commit()
        acts = s.execute(
            select(AuditEvent.actor, AuditEvent.actor_user_id, AuditEvent.action, AuditEvent.entity_id)
        ).all()
    assert {(a.actor, a.action) for a in acts} >= {("cli", "organisation.create"), ("cli", "user.create")}
    assert any(
        a.action == "user.create" and a.actor_user_id == admin.user_id and a.entity_id == str(officer.id) for a in acts
    )


def test_finance_accounts_no_role_may_grant_are_made_by_the_operator(fresh):
    """finance alone holds fund.budget_review and fund.allocate: the centre may not make a finance
    officer (it could then approve its own budget); the operator can."""
    url, make = fresh
    _ok(
        run_oip(
            url,
            "orgs",
            "add",
            "gx-finance",
            "--name",
            "广西壮族自治区财政厅",
            "--kind",
            "finance",
            "--region",
            "450000",
        )
    )
    _ok(
        run_oip(
            url,
            "orgs",
            "add",
            "gx-si-2",
            "--name",
            "自治区社保中心（复核）",
            "--kind",
            "si_agency",
            "--region",
            "450000",
        )
    )
    first = _ok(
        run_oip(url, "users", "create", "gan_gong", "--name", "甘工", "--role", "si_region", "--org", "gx-si-2")
    )
    with make() as s:
        _, admin = service.sign_in(s, "gan_gong", first["one_time_password"], None)
        fin = s.scalar(select(Organisation).where(Organisation.code == "gx-finance"))
        with pytest.raises(Forbidden, match="含有您本人没有的权限"):
            service.create_user(
                s,
                admin,
                username="li_gong",
                display_name="李工",
                organisation_id=fin.id,
                role_code="finance",
                password="财政复核岗位2026年",
            )
        s.rollback()
    made = _ok(run_oip(url, "users", "create", "li_gong", "--name", "李工", "--role", "finance", "--org", "gx-finance"))
    with make() as s:
        _, p = service.sign_in(s, "li_gong", made["one_time_password"], None)
        assert "fund.allocate" in p.role.permissions


def test_refusals_say_why_and_write_nothing(fresh):
    url, make = fresh
    _ok(
        run_oip(
            url,
            "orgs",
            "add",
            "gx-tax",
            "--name",
            "国家税务总局广西壮族自治区税务局",
            "--kind",
            "tax",
            "--region",
            "450000",
        )
    )
    before = _users(make)
    # On the terminal: exit 2 and the reason in Chinese.
    assert "只能授予" in _refused(
        run_oip(url, "users", "create", "wrong_role", "--name", "某工", "--role", "si_region", "--org", "gx-tax")
    )
    assert "至少 12 个字符" in _refused(_tax_officer(url, "short"))
    assert "机构类型须为" in _refused(
        run_oip(url, "orgs", "add", "gx-x", "--name", "某机构", "--kind", "platform", "--region", "450000")
    )
    # The same service, every other refusal.
    cli = audit.SystemActor(label="cli")
    user = dict(username="zhang_tax", display_name="张工", organisation_code="gx-tax", role_code="tax")
    refusals = [
        (dict(user, organisation_code="nowhere"), "不存在"),
        (dict(user, username="X"), "用户名须为"),
        (dict(user, display_name=" "), "请填写姓名"),
        (dict(user, role_code="worker"), "请选择角色"),
        (dict(user, role_code="platform"), "只能授予"),
    ]
    with make() as s:
        for kw, reason in refusals:
            with pytest.raises(DomainError, match=reason):
                service.provision_user(s, cli, password="税务对账专岗口令2026", **kw)
        for kw, reason in [
            (dict(code="gx-y", name="某机构", kind="union", region_code="999999"), "行政区划代码 999999 不存在"),
            (dict(code="gx-tax", name="重复", kind="tax", region_code="450000"), "已被使用"),
            (dict(code="A b", name="某机构", kind="union", region_code="450000"), "机构代码须为"),
            (dict(code="gx-z", name="", kind="union", region_code="450000"), "请填写机构名称"),
            (dict(code="gx-z", name="某机构", kind="public", region_code="450000"), "机构类型须为"),
        ]:
            with pytest.raises(DomainError, match=reason):
                service.add_organisation(s, cli, **kw)
        s.rollback()
    assert _users(make) == before
    # A password of one's own from stdin: accepted, not printed; the name is then taken.
    made = _ok(_tax_officer(url, "税务对账专岗口令2026"))
    assert "one_time_password" not in made
    with make() as s:
        service.sign_in(s, "zhang_tax", "税务对账专岗口令2026", None)
        with pytest.raises(DomainError, match="已被使用"):
            service.provision_user(s, cli, password="税务对账专岗口令2026", **user)
        s.rollback()
    assert _users(make) == before + 1


def test_reset_disable_enable_and_a_platforms_first_user(fresh):
    url, make = fresh
    _ok(
        run_oip(
            url, "orgs", "add", "gx-union", "--name", "广西壮族自治区总工会", "--kind", "union", "--region", "450000"
        )
    )
    first = _ok(run_oip(url, "users", "create", "zhao_gong", "--name", "赵工", "--role", "union", "--org", "gx-union"))
    _ok(run_oip(url, "users", "disable", "zhao_gong"))
    with make() as s:
        with pytest.raises(service.BadCredentials):
            service.sign_in(s, "zhao_gong", first["one_time_password"], None)
        s.commit()
    _ok(run_oip(url, "users", "enable", "zhao_gong"))
    again = _ok(run_oip(url, "users", "reset-password", "zhao_gong"))
    assert again["one_time_password"] != first["one_time_password"]
    with make() as s:
        with pytest.raises(service.BadCredentials):
            service.sign_in(s, "zhao_gong", first["one_time_password"], None)
        s.commit()
        service.sign_in(s, "zhao_gong", again["one_time_password"], None)
        s.commit()
        actions = s.scalars(
            select(AuditEvent.action).where(AuditEvent.actor == "cli", AuditEvent.action.like("user.%"))
        ).all()
    assert {"user.disable", "user.enable", "user.reset_password"} <= set(actions)
    assert "没有工作人员账号" in _refused(run_oip(url, "users", "disable", "nobody_here"))

    # A pilot platform loaded with the reference data gets its organisation with its first user.
    made = _ok(
        run_oip(
            url,
            "users",
            "create",
            "mt_ops",
            "--name",
            "美团广西运营",
            "--role",
            "platform",
            "--org",
            "platform-meituan",
        )
    )
    with make() as s:
        org = s.scalar(select(Organisation).where(Organisation.code == "platform-meituan"))
        assert org.kind == "platform" and org.platform_id is not None
        _, p = service.sign_in(s, "mt_ops", made["one_time_password"], None)
        assert p.platform_id == org.platform_id
