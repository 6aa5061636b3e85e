"""One case from the platform's report to the appraisal conclusion, in a real headless Chromium, as
the platform, the county officer, the contracted insurer, the worker and the city's appraisal
committee walk it (issue 11, "Done when"): the forms a user fills and the buttons a user clicks,
nothing through the API but the downloads of letters. Dates are today's in Beijing time: the pages
default to today, and a date typed is today's, computed when it is typed."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.cases._intake_support import jpeg, pdf, png
from tests.web.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _worker_demo() -> dict:
    """worker_demo's name and an active account of theirs on a platform that has a demo admin."""
    from oip.auth.models import User
    from oip.cases.models import CaseCode
    from oip.core.db import session_scope
    from oip.platforms.models import Platform
    from oip.workers.models import PlatformAccount

    with session_scope() as s:
        me = s.scalar(select(User).where(User.username == "worker_demo"))
        admins = set(s.scalars(select(User.username).where(User.role == "platform")))
        rows = s.execute(
            select(Platform.code, PlatformAccount.account_id)
            .join(Platform, Platform.id == PlatformAccount.platform_id)
            .where(PlatformAccount.person_id == me.person_id, PlatformAccount.status == "active")
            .order_by(Platform.code == "meituan", PlatformAccount.id)
        ).all()
        code, account = next((c, a) for c, a in reversed(rows) if f"{c}_admin" in admins)
        s1 = s.get(CaseCode, ("situation", "S1"))
        return {"name": me.display_name, "platform_user": f"{code}_admin", "account": account, "s1": s1.name}


@contextlib.contextmanager
def signed_in(browser, live_server, username: str):  # noqa: F811
    """A page of a fresh browser context, signed in as ``username``."""
    ctx = browser.new_context(base_url=live_server, locale="zh-CN", accept_downloads=True)
    page = ctx.new_page()
    page.set_default_timeout(15000)
    try:
        login(page, username)
        yield page
    finally:
        ctx.close()


def _file(name: str, content: bytes) -> dict:
    mime = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png"}[name.rsplit(".", 1)[1]]
    return {"name": name, "mimeType": mime, "buffer": content}


def _upload(page, requirement: str, name: str, content: bytes) -> None:
    row = page.locator(f"[data-testid=checklist] tr[data-requirement={requirement}]")
    row.locator("input[type=file]").set_input_files(_file(name, content))
    with page.expect_navigation():
        row.locator("button:has-text('上传')").click()
    row = page.locator(f"[data-testid=checklist] tr[data-requirement={requirement}]")
    assert name in row.text_content() and "已提交" in row.text_content(), row.text_content()


def _open_case(page, nav_item: str, number: str) -> None:
    """From the side navigation to the case list, search the number, open the case."""
    page.click(f"nav.side >> text={nav_item}")
    page.fill("#q", number)
    with page.expect_navigation():
        page.click("form >> button:has-text('查询')")
    with page.expect_navigation():
        page.click(f"[data-testid=cases] >> a:text-is('{number}')")
    assert number in page.text_content("h1")


def _today() -> str:
    """Today in Beijing time (asked afresh: a walk may cross midnight)."""
    return dt.datetime.now(SHANGHAI).date().isoformat()


def _state(page) -> str:
    return page.text_content("h1 .tag").strip()


def test_a_case_from_the_platforms_report_to_the_appraisal_conclusion(browser, live_server):
    from oip.core.ids import mask_name
    from oip.core.pdf import pdf_text

    w = _worker_demo()
    occurred = (dt.datetime.now(SHANGHAI) - dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")

    # ---- 1. The platform reports the injury, applies and uploads what it has ----------------------
    with signed_in(browser, live_server, w["platform_user"]) as page:
        page.click("nav.side >> text=为本企业人员报案")
        form = page.locator("[data-testid=report-form]")
        form.locator("#platform_account_id").fill(w["account"])
        form.locator("#kind").select_option(label="受伤")
        form.locator("#occurred_at").fill(occurred)
        form.locator("#county_code").select_option(label="青秀区")
        form.locator("#address").fill("南宁市青秀区民族大道 100 号路口")
        form.locator("#description").fill("送餐途中在路口被电动车撞倒，右臂着地")
        form.locator("#injuries").fill("右前臂骨折")
        with page.expect_navigation():
            form.locator("button:has-text('登记报案')").click()
        case_id = int(re.search(r"/cases/(\d+)", page.url).group(1))
        number = page.text_content("h1").split()[1]
        head = page.text_content("[data-testid=case-head]")
        assert "青秀区人力资源和社会保障局" in head and w["account"] in head
        assert w["name"] not in head and mask_name(w["name"]) in head  # a platform sees the name masked
        assert _state(page) == "已报案"

        app = page.locator("[data-testid=application-form]")
        app.locator("#intake-applicant").select_option(label="平台企业")
        with page.expect_navigation():
            app.locator("button:has-text('提出申请')").click()
        assert _state(page) == "已申请，待受理"
        _upload(page, "application_form", "职业伤害确认申请表.pdf", pdf(b"/Lang (zh-CN) "))
        _upload(page, "identity", "身份证.jpg", jpeg(1))
        _upload(page, "accident_account", "事故经过说明.png", png())

    # ---- 2. The county officer asks once for what is missing, then accepts ------------------------
    with signed_in(browser, live_server, "qx_hrss") as officer:
        _open_case(officer, "职业伤害案件", number)
        assert w["name"] in officer.text_content("[data-testid=case-head]")  # the officer sees the name
        corr = officer.locator("[data-testid=correction-form]")
        box = corr.get_by_label("医疗机构出具的诊断证明（首诊病历）", exact=True)
        assert box.is_checked()  # a required item without a document is ticked already
        corr.get_by_label("医疗机构出具的诊断证明（首诊病历）的补正说明").fill("请补交医院首诊病历和诊断证明")
        with officer.expect_navigation():
            corr.locator("button:has-text('出具补正告知')").click()
        assert _state(officer) == "待补正材料"
        notice = officer.text_content("[data-testid=correction-notice]")
        assert "医疗机构出具的诊断证明（首诊病历）：请补交医院首诊病历和诊断证明" in notice
        assert "一次性补正告知书" in officer.text_content("[data-testid=letters]")

        with signed_in(browser, live_server, w["platform_user"]) as page:
            page.goto(f"/cases/{case_id}")
            assert "医疗机构出具的诊断证明（首诊病历）" in page.text_content("[data-testid=missing-materials]")
            _upload(page, "medical_diagnosis", "首诊病历.pdf", pdf(b"/Author (hospital) "))

        officer.reload()
        with officer.expect_navigation():
            officer.click("[data-testid=fulfil-form] >> button:has-text('登记补正材料收齐')")
        assert _state(officer) == "已申请，待受理"
        acc = officer.locator("[data-testid=acceptance-form]")
        assert "尚缺必备材料" not in acc.text_content()
        assert acc.locator("#intake-accepted_on").input_value() == _today()
        with officer.expect_navigation():
            acc.locator("button:has-text('受理')").click()
        assert _state(officer) == "受托机构调查核实中"
        assert "受理日期" in officer.text_content("[data-testid=case-head]")
        assert "受理通知书" in officer.text_content("[data-testid=letters]")
        inv = officer.text_content("[data-testid=investigation]")
        assert "甲财产保险股份有限公司广西分公司（演示）" in inv, inv  # 南宁's contracted insurer
        assert officer.locator("[data-testid=decision-due]").count() == 1
        assert officer.text_content("[data-testid=case-deadline]").count("确认结论期限") == 1

    # ---- 3. The insurer investigates and recommends ----------------------------------------------
    with signed_in(browser, live_server, "insurer_a") as ins:
        ins.click("nav.side >> text=调查核实任务")
        while ins.locator(f"[data-testid=tasks] >> a:text-is('{number}')").count() == 0:
            with ins.expect_navigation():
                ins.click("[data-testid=tasks-pager] >> a[rel=next]")
        row = ins.locator("[data-testid=tasks] tr", has=ins.locator(f"a:text-is('{number}')"))
        assert mask_name(w["name"]) in row.text_content() and w["name"] not in row.text_content()
        task = row.get_attribute("data-task")
        with ins.expect_navigation():
            row.locator("a").first.click()
        facts = ins.text_content("[data-testid=investigation-facts]")
        assert mask_name(w["name"]) in facts and w["name"] not in facts
        assert w["name"] not in ins.text_content("main")

        ins.fill(f"#findings-{task}", "经调取平台订单记录，事故发生时该人员正在配送订单；接诊医院病历与所述伤情一致。")
        with ins.expect_navigation():
            ins.click(f"form[action$='/investigations/{task}/findings'] >> button")
        visit = ins.locator(f"form[action$='/investigations/{task}/visits']")
        assert visit.locator(f"#visited_on-{task}").input_value() == _today()
        visit.locator(f"#place-{task}").fill("南宁市青秀区民族大道事发路口")
        visit.locator(f"#people-{task}").fill("路口商户、站点负责人")
        visit.locator(f"#notes-{task}").fill("商户证实事发时有外卖骑手被电动车撞倒")
        with ins.expect_navigation():
            visit.locator("button").click()
        ev = ins.locator(f"form[action$='/investigations/{task}/evidence']")
        ev.locator(f"#file-{task}").set_input_files(_file("现场照片.jpg", jpeg(7)))
        ev.locator(f"#evnote-{task}").fill("事发路口照片")
        with ins.expect_navigation():
            ev.locator("button").click()
        done = ins.locator(f"[data-task='{task}']")
        assert "南宁市青秀区民族大道事发路口" in done.text_content() and "现场照片.jpg" in done.text_content()
        sub = ins.locator(f"form[action$='/investigations/{task}/submit']")
        sub.get_by_label("建议予以确认").check()
        sub.locator(f"#reason-{task}").fill("事故发生在执行平台订单任务期间，事实清楚。")
        with ins.expect_navigation():
            sub.locator("button").click()
        assert "建议予以确认" in ins.text_content(f"[data-task='{task}']")
        assert ins.locator(f"form[action$='/investigations/{task}/submit']").count() == 0

    # ---- 4. The officer confirms; the letter is made, downloaded and served ------------------------
    with signed_in(browser, live_server, "qx_hrss") as officer:
        _open_case(officer, "职业伤害案件", number)
        assert "建议予以确认" in officer.text_content("[data-testid=recommendations]")
        dec = officer.locator("[data-testid=decision-form]")
        dec.get_by_label("予以确认", exact=True).check()
        dec.locator("#code").select_option(label=w["s1"])
        dec.locator("#reasoning").fill("订单记录、现场调查与医疗诊断相互印证，受伤发生在执行平台订单任务期间。")
        assert dec.locator("#decided_on").input_value() == _today()
        with officer.expect_navigation():
            dec.locator("button:has-text('作出结论')").click()
        assert _state(officer) == "予以确认"
        assert w["s1"] in officer.text_content("[data-testid=decisions]")
        assert "确认结论期限" not in officer.text_content("[data-testid=case-deadline]")  # decided: no clock
        letter = officer.locator("[data-testid=letters] tr[data-letter=confirmation]")
        assert "职业伤害确认结论书" in letter.text_content()
        with officer.expect_download() as got:
            letter.locator("a:has-text('下载 PDF')").click()
        text = pdf_text(Path(got.value.path()).read_bytes())
        assert "职业伤害确认结论书" in text and number in text
        letter.locator("select[name=means]").select_option(label="直接送达")
        letter.locator("input[name=note]").fill("本人签收")
        assert letter.locator("input[name=served_on]").input_value() == _today()
        with officer.expect_navigation():
            letter.locator("button:has-text('登记送达')").click()
        served = officer.text_content("[data-testid=letters] tr[data-letter=confirmation]")
        assert _today() in served and "直接送达" in served and "本人签收" in served

    # ---- 5. The worker follows the case ------------------------------------------------------------
    with signed_in(browser, live_server, "worker_demo") as me:
        _open_case(me, "我的职业伤害案件", number)
        assert w["name"] in me.text_content("[data-testid=case-head]")
        guide = me.text_content("[data-testid=case-guide]")
        assert "进展与下一步" in guide and "予以确认职业伤害的结论" in guide and "劳动能力鉴定" in guide
        mine = me.locator("[data-testid=letters] tr[data-letter=confirmation]")
        assert "职业伤害确认结论书" in mine.text_content() and "直接送达" in mine.text_content()
        assert mine.locator("form").count() == 0  # the worker reads the letter, does not serve it
        got = me.request.get(mine.locator("a:has-text('下载 PDF')").get_attribute("href"))
        assert got.ok and number in pdf_text(got.body())

        # ---- 6. The worker applies for an appraisal; the city's committee accepts, draws, concludes --
        ap = me.locator("[data-testid=appraisal] form[action$='/appraisals']")
        ap.locator("#ap-kind").select_option(label="初次鉴定")
        assert ap.locator("#ap-applicant").count() == 0  # the worker applies as themself
        ap.locator("#ap-ended").fill(_today())
        ap.locator("#ap-statement").fill("治疗已结束，右前臂活动受限，申请劳动能力鉴定。")
        with me.expect_navigation():
            ap.locator("button:has-text('提出申请')").click()
        assert _state(me) == "劳动能力鉴定中"
        mine = me.locator("[data-testid=appraisal] [data-appraisal]")
        assert "初次鉴定" in mine.text_content() and "本人" in mine.text_content()
        assert "已申请，待受理" in mine.text_content()
        aid = mine.get_attribute("data-appraisal")

    with signed_in(browser, live_server, "nn_hrss") as committee:
        committee.click("nav.side >> text=劳动能力鉴定")
        with committee.expect_navigation():
            committee.click("nav.tabs >> text=待受理")
        while committee.locator(f"[data-testid=appraisals] tr[data-appraisal='{aid}']").count() == 0:
            with committee.expect_navigation():
                committee.click("[data-testid=appraisals-pager] >> a[rel=next]")
        row = committee.locator(f"[data-testid=appraisals] tr[data-appraisal='{aid}']")
        assert number in row.text_content() and "南宁" in row.text_content()
        with committee.expect_navigation():
            row.locator("a").first.click()
        acc = committee.locator(f"form[action='/appraisals/{aid}/acceptance']")
        assert acc.locator(f"#acc-on-{aid}").input_value() == _today()
        acc.get_by_label("骨科", exact=True).check()
        acc.locator(f"#acc-size-{aid}").select_option(label="3 人")
        with committee.expect_navigation():
            acc.locator("button:has-text('受理')").click()
        a = committee.locator(f"[data-appraisal='{aid}']")
        assert "已受理，鉴定中" in a.text_content() and "骨科" in a.text_content()
        with committee.expect_navigation():
            committee.click(f"form[action='/appraisals/{aid}/panel'] >> button:has-text('抽取')")
        assert committee.locator(f"[data-appraisal='{aid}'] li").count() == 3  # the panel drawn
        con = committee.locator(f"form[action='/appraisals/{aid}/conclusion']")
        con.locator(f"#grade-{aid}").select_option(label="十级伤残")
        con.locator(f"#dep-{aid}").select_option(label="无护理依赖")
        assert con.locator(f"#concl-on-{aid}").input_value() == _today()
        con.locator(f"#note-{aid}").fill("右前臂骨折愈合，腕关节功能轻度受限。")
        with committee.expect_navigation():
            con.locator("button:has-text('作出结论')").click()
        assert _state(committee) == "已作出鉴定结论"
        assert "十级伤残，无护理依赖" in committee.text_content("[data-testid=conclusion]")

    with signed_in(browser, live_server, "worker_demo") as me:
        _open_case(me, "我的职业伤害案件", number)
        assert _state(me) == "已作出鉴定结论"
        assert "十级伤残，无护理依赖" in me.text_content("[data-testid=conclusion]")
        guide = me.text_content("[data-testid=case-guide]")
        assert "劳动能力鉴定结论已作出" in guide and "再次鉴定" in guide
        assert "申请再次鉴定期限" in me.text_content("[data-testid=case-deadline]")
        letter = me.locator("[data-testid=letters] tr[data-letter=appraisal]")
        assert "劳动能力鉴定结论书" in letter.text_content()
        got = me.request.get(letter.locator("a:has-text('下载 PDF')").get_attribute("href"))
        text = pdf_text(got.body())
        assert got.ok and "劳动能力鉴定结论书" in text and "十级伤残" in text
