"""Pages in a real headless Chromium, signed in as different roles."""

import pytest

from tests.web.conftest import login

pytestmark = pytest.mark.browser


def test_regional_officer_signs_in_and_checks_the_audit_trail(page):
    login(page, "gx_hrss")
    assert page.url.endswith("/console")
    assert "自治区人力资源社会保障厅" in page.text_content("[data-testid=who]")
    nav = page.text_content("nav.side")
    for item in ("平台企业名录", "试点纳入申请", "从业人员", "审计日志"):
        assert item in nav
    page.click("nav.side >> text=审计日志")
    page.click("text=校验审计链")
    assert "审计链完整" in page.text_content("[role=status]")


def test_worker_sees_their_registrations_and_who_viewed_them(page):
    login(page, "worker_demo")
    assert page.url.endswith("/me")
    assert "参保登记" in page.text_content("main")
    assert page.locator("[data-testid=access-log] tbody tr").count() >= 1


def test_wrong_password_shows_a_clear_message(page):
    page.goto("/login")
    page.fill("#username", "gx_si")
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.text_content("[role=alert]")


def _answer(question: str) -> str:
    import re

    a, op, b = re.match(r"(\d+) (加|减) (\d+)", question).groups()
    return str(int(a) + int(b) if op == "加" else int(a) - int(b))


def test_city_agency_searches_views_masked_then_full_with_a_purpose(page):
    login(page, "nn_si")
    page.click("nav.side >> text=从业人员")
    page.click("button:has-text('查询')")
    rows = page.locator("[data-testid=workers] tbody tr")
    assert rows.count() >= 1
    first = rows.first.text_content()
    assert "**********" in first and "****" in first  # masked ID and phone
    assert "4501" in first  # Nanning only
    rows.first.locator("a").first.click()
    assert "**********" in page.text_content("main")
    page.fill("#purpose", "职业伤害确认受理核实身份（测试）")
    page.click("button:has-text('查看完整信息')")
    full = page.text_content("[data-testid=id-number]")
    assert "*" not in full and len(full.strip()) == 18
    assert "已记入审计日志" in page.text_content("[data-testid=full-notice]")


def test_platform_uploads_a_gbk_csv_in_its_portal(page, tmp_path):
    import datetime as dt
    import random

    from oip.demo.synthetic import synthetic_id, synthetic_phone

    rng = random.Random()
    good = synthetic_id(rng, "450103", dt.date(1991, 3, 9))
    lines = [
        "平台账号,姓名,身份证号码,手机号码,接单地区划代码,注册日期",
        f"BR{rng.randrange(10**8)},黄浏览,{good},{synthetic_phone(rng)},450103,2025-09-01",
        f"BR{rng.randrange(10**8)},韦错号,{good[:-1]}{'0' if good[-1] != '0' else '1'},{synthetic_phone(rng)},450103,2025-09-01",
    ]
    f = tmp_path / "人员.csv"
    f.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    login(page, "meituan_admin")
    assert page.url.endswith("/portal")
    assert "美团" in page.text_content("h1")
    page.set_input_files("#file", str(f))
    page.click("button:has-text('上传并报送')")
    page.wait_for_load_state("networkidle")
    assert page.text_content("[data-testid=received]").strip() == "2"
    assert page.text_content("[data-testid=accepted]").strip() == "1"
    assert page.text_content("[data-testid=rejected]").strip() == "1"
    assert "校验位" in page.text_content("[data-testid=rejects]")


def test_regional_department_follows_an_admission_and_the_public_sees_the_notice(page):
    login(page, "gx_hrss")
    page.click("nav.side >> text=试点纳入申请")
    page.click("text=八桂快送")
    body = page.text_content("main")
    assert "公示中" in body and "异议" in body
    page.click("header >> button:has-text('退出')")
    page.goto("/notices")
    assert "八桂快送" in page.text_content("main")
    assert "桂捷出行" not in page.text_content("main")  # not yet under public notice


def test_a_worker_checks_their_registration_without_signing_in(page, live_server):
    from sqlalchemy import select

    from oip.core import crypto
    from oip.core.db import session_scope
    from oip.workers.models import PlatformAccount

    with session_scope() as s:
        acc = s.scalar(select(PlatformAccount).order_by(PlatformAccount.id).limit(1))
        id_number = crypto.decrypt(acc.person.id_enc, "person.id_number")
        phone = crypto.decrypt(acc.phone_enc, "account.phone")
    page.goto("/check")
    page.fill("#id_number", id_number)
    page.fill("#phone", phone)
    page.fill("#answer", _answer(page.text_content("[data-testid=question]")))
    page.click("button:has-text('查询')")
    assert page.locator("[data-testid=result] tbody tr").count() >= 1


def test_api_docs_render_every_operation_offline(page, live_server):
    """Swagger UI (5, from a pip package, no network) reads the OpenAPI 3.1 document FastAPI emits."""
    external = []
    page.on("request", lambda r: None if r.url.startswith(live_server) else external.append(r.url))
    page.goto("/docs")
    page.wait_for_selector(".opblock", state="visible")
    assert "Unable to render this definition" not in page.text_content("body")
    assert page.locator(".opblock").count() > 40
    assert page.locator(".opblock-summary-path", has_text="/api/v1/users").count() >= 1
    assert external == []


def test_officer_creates_a_user_on_the_users_page(page):
    import uuid

    login(page, "gx_si")
    page.click("nav.side >> text=用户")
    assert page.locator("[data-testid=users] tbody tr").count() >= 10
    name = f"b{uuid.uuid4().hex[:8]}"
    page.fill("#username", name)
    page.fill("#display_name", "覃浏览")
    page.select_option("#organisation_id", label="桂林市社会保险事业局（社会保险经办机构）")
    page.select_option("#role", value="si_city")
    page.fill("#password", "Browser2026pw")
    page.click("button:has-text('建立用户')")
    assert "用户已建立" in page.text_content("[role=status]")
    assert name in page.text_content("[data-testid=user]")


def test_a_disabled_button_looks_disabled(page):
    import datetime as dt

    from oip.core import clock

    login(page, "gx_si")
    nxt = (clock.today().replace(day=28) + dt.timedelta(days=5)).strftime("%Y-%m")
    page.goto(f"/premiums?month={nxt}")  # a month not begun: nothing to compute or send yet
    disabled = page.locator("button:disabled")
    assert disabled.count() >= 1
    enabled = page.locator("button:enabled[type=submit]").first
    assert disabled.first.evaluate("b => getComputedStyle(b).cursor") == "not-allowed"
    assert disabled.first.evaluate("b => getComputedStyle(b).backgroundColor") != enabled.evaluate(
        "b => getComputedStyle(b).backgroundColor"
    )
