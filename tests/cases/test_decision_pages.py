"""The panels "审查与结论" and "复议与诉讼" on the case page, and their forms as an officer uses them:
suspend and resume, decide (a wrong code shown in the panel, a stale version refused), appeal, the
outcome, close. Platforms and workers see the decision without the forms."""

from __future__ import annotations

import datetime as dt
import re

from oip.core import clock
from tests.cases.conftest import make_case

D = dt.date
ACCEPTED = D(2025, 9, 30)


def _case(simple: bool = True, platform: str = "meituan") -> int:
    with clock.frozen(ACCEPTED):
        return make_case(
            to="accepted",
            accepted_on=ACCEPTED,
            simple=simple,
            platform=platform,
            occurred_at=dt.datetime(2025, 9, 29, 10, tzinfo=clock.SHANGHAI),
        )


def _version(html: str) -> str:
    return re.search(r'name="version" value="(\d+)"', html).group(1)


def _post(client, csrf: str, url: str, **data):
    return client.post(url, data={"csrf_token": csrf, **data}, follow_redirects=False)


def test_an_officer_suspends_resumes_and_decides_on_the_page(client, as_user):
    cid = _case()
    with clock.frozen(D(2025, 10, 10)):
        csrf = as_user("qx_hrss")["X-CSRF-Token"]
        page = client.get(f"/cases/{cid}")
        assert page.status_code == 200
        for text in (
            "审查与结论",
            "确认结论期限",
            "中止审查",
            "作出确认结论",
            "在执行平台订单任务期间，因工作原因受到事故伤害的",
        ):
            assert text in page.text, text
        assert 'data-testid="panel-appeals"' not in page.text  # nothing to appeal yet
        r = _post(
            client,
            csrf,
            f"/cases/{cid}/suspension",
            authority="公安机关交通管理部门",
            reason="交通事故责任尚未认定",
            started_on="2025-10-10",
            expected_until="2025-10-31",
            version=_version(page.text),
        )
        assert r.status_code == 303 and r.headers["location"] == f"/cases/{cid}#decision"
        page = client.get(f"/cases/{cid}")
        assert "中止记录" in page.text and 'data-testid="resume-form"' in page.text
        assert 'data-testid="decision-form"' not in page.text  # no decision while suspended
    with clock.frozen(D(2025, 10, 13)):
        csrf = as_user("qx_hrss")["X-CSRF-Token"]
        r = _post(client, csrf, f"/cases/{cid}/resumption", ended_on="2025-10-13", note="对方负全部责任")
        assert r.status_code == 303
        page = client.get(f"/cases/{cid}")
        assert "2025-10-21" in page.text and "中止 3 个工作日不计入" in page.text

        # A situation code for "not confirmed": the panel says why and keeps what was typed.
        r = _post(
            client,
            csrf,
            f"/cases/{cid}/decision",
            outcome="not_confirmed",
            code="S1",
            reasoning="这是一段认定理由",
            version=_version(page.text),
        )
        assert r.status_code == 400
        assert 'data-testid="decision-error"' in r.text and "认定情形" in r.text and "这是一段认定理由" in r.text

        stale = str(int(_version(page.text)) - 1)
        r = _post(client, csrf, f"/cases/{cid}/decision", outcome="confirmed", code="S3", reasoning="x", version=stale)
        assert r.status_code == 409 and "已被他人更新" in r.text

        r = _post(
            client,
            csrf,
            f"/cases/{cid}/decision",
            outcome="confirmed",
            code="S3",
            reasoning="送餐途中被机动车撞伤，对方负全部责任",
            decided_on="2025-10-13",
            version=_version(page.text),
        )
        assert r.status_code == 303, r.text
        page = client.get(f"/cases/{cid}")
        assert page.status_code == 200
        decisions = page.text[page.text.index('data-testid="decisions"') :]
        assert "予以确认" in decisions and "按期" in decisions and "非本人主要责任的交通事故" in decisions
        assert 'data-testid="panel-appeals"' in page.text and "申请行政复议至" in page.text


def test_appeal_outcome_and_close_on_the_page(client, as_user):
    cid = _case()
    with clock.frozen(D(2025, 10, 15)):
        csrf = as_user("qx_hrss")["X-CSRF-Token"]
        r = _post(client, csrf, f"/cases/{cid}/decision", outcome="confirmed", code="S1", reasoning="事实清楚")
        assert r.status_code == 303
    with clock.frozen(D(2025, 10, 27)):
        csrf = as_user("qx_hrss")["X-CSRF-Token"]
        r = _post(client, csrf, f"/cases/{cid}/close")
        assert r.status_code == 400 and 'data-testid="appeals-error"' in r.text and "尚未届满" in r.text
        r = _post(client, csrf, f"/cases/{cid}/appeals", kind="review", body="南宁市人民政府", filed_on="2025-10-27")
        assert r.status_code == 303 and r.headers["location"].endswith("#appeals")
        page = client.get(f"/cases/{cid}")
        assert "南宁市人民政府" in page.text and 'data-testid="appeal-outcome-form"' in page.text
        action = re.search(r'action="(/cases/\d+/appeals/\d+/outcome)"', page.text).group(1)
        r = _post(client, csrf, action, outcome="overturned", outcome_on="2025-10-27", note="事实不清")
        assert r.status_code == 303
        page = client.get(f"/cases/{cid}")
        assert "2025-10-27 被撤销" in page.text and "撤销原结论" in page.text
        assert 'data-testid="decision-form"' in page.text  # examined again
        assert "2025-11-05" in page.text  # 7 working days after 10-27

    other = _case()
    with clock.frozen(D(2025, 10, 15)):
        csrf = as_user("qx_hrss")["X-CSRF-Token"]
        assert (
            _post(
                client, csrf, f"/cases/{other}/decision", outcome="not_confirmed", code="X2", reasoning="醉酒"
            ).status_code
            == 303
        )
        r = _post(client, csrf, f"/cases/{other}/close", reason="申请人书面放弃复议和诉讼")
        assert r.status_code == 303
        assert "已结案" in client.get(f"/cases/{other}").text


def test_platform_and_worker_see_the_decision_without_the_forms(client, as_user):
    cid = _case()
    with clock.frozen(D(2025, 10, 15)):
        csrf = as_user("qx_hrss")["X-CSRF-Token"]
        assert (
            _post(
                client, csrf, f"/cases/{cid}/decision", outcome="confirmed", code="S1", reasoning="事实清楚"
            ).status_code
            == 303
        )
        as_user("meituan_admin")
        page = client.get(f"/cases/{cid}")
        assert page.status_code == 200 and "审查与结论" in page.text and "予以确认" in page.text
        for form in ("decision-form", "suspend-form", "appeal-form", "close-form"):
            assert f'data-testid="{form}"' not in page.text
        csrf = as_user("meituan_admin")["X-CSRF-Token"]
        r = _post(client, csrf, f"/cases/{cid}/close", reason="x")
        assert r.status_code == 403


def test_pages_carry_no_bare_codes_in_labels(client, as_user):
    """Names, not codes: the code of a situation sits in a muted line only."""
    cid = _case()
    with clock.frozen(D(2025, 10, 15)):
        csrf = as_user("qx_hrss")["X-CSRF-Token"]
        before = client.get(f"/cases/{cid}").text
        assert 'data-testid="decision-form"' in before
        _post(client, csrf, f"/cases/{cid}/decision", outcome="confirmed", code="S4", reasoning="事实清楚")
        _post(client, csrf, f"/cases/{cid}/appeals", kind="litigation", body="南宁市青秀区人民法院")
        after = client.get(f"/cases/{cid}").text
        assert "行政诉讼" in after
    for page in (before, after):
        without_muted = re.sub(r'<span class="muted[^"]*">.*?</span>', "", page, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", without_muted)
        assert not re.search(r"\b[SXRF]\d\b", text)
        assert not re.search(r"\b(confirmed|not_confirmed|situation|exclusion|pending|overturned|litigation)\b", text)


def test_a_passed_appeal_window_reads_as_ready_to_close(client, as_user):
    """The appeal window is the applicant's, not the office's: once it has passed the case page says the
    case may be closed, not that something is overdue."""
    import datetime as dt

    from oip.cases import service
    from oip.cases.models import Case, Decision
    from oip.core import audit, clock
    from oip.core.db import session_scope
    from tests.cases.conftest import make_case

    cid = make_case(
        to="accepted", accepted_on=dt.date(2025, 9, 30), occurred_at=dt.datetime(2025, 9, 29, 10, tzinfo=clock.SHANGHAI)
    )
    with session_scope() as s:
        case = s.get(Case, cid)
        s.add(
            Decision(
                case_id=cid,
                round=1,
                outcome="confirmed",
                code_kind="situation",
                code="S1",
                reasoning="x",
                decided_on=dt.date(2025, 10, 15),
            )
        )
        service.transition(s, audit.SystemActor(label="test"), case, "confirm", on=dt.date(2025, 10, 15))
    as_user("qx_hrss")
    page = client.get(f"/cases/{cid}").text
    assert 'data-testid="window-passed"' in page and "已届满，可以结案" in page
