"""The public notice board: no sign-in, only admissions that reached the public notice."""

from __future__ import annotations

from tests.platforms.conftest import TO_CONSENTED, current_notice, days, past_notice

HTML = {"accept": "text/html"}


def _demo(client, hrss, code):
    return next(a for a in client.get("/api/v1/admissions", headers=hrss).json() if a["platform_code"] == code)


def test_the_board_is_public_and_shows_current_notices(client, hrss):
    bagui, _guijie = _demo(client, hrss, "bagui"), _demo(client, hrss, "guijie")
    r = client.get("/notices", headers=HTML)
    assert r.status_code == 200
    assert "八桂快送" in r.text and f"/notices/{bagui['id']}" in r.text
    assert "桂捷出行" not in r.text
    assert '<a href="/login">登录</a>' in r.text  # rendered for an anonymous visitor


def test_notice_detail_says_how_to_object(client, hrss):
    bagui = _demo(client, hrss, "bagui")
    plat = client.get("/api/v1/platforms/bagui", headers=hrss).json()
    r = client.get(f"/notices/{bagui['id']}", headers=HTML)
    assert r.status_code == 200
    for text in (
        "八桂快送",
        plat["uscc"],
        "即时配送",
        "柳州市城中区",
        bagui["notice_from"],
        bagui["notice_to"],
        "书面形式",
        "广西壮族自治区人力资源和社会保障厅",
    ):
        assert text in r.text, text
    assert "138" not in r.text or plat["contact"]["phone"] not in r.text  # no contact details in public


def test_unpublicised_admissions_are_404(client, hrss, run_admission):
    guijie = _demo(client, hrss, "guijie")
    assert client.get(f"/notices/{guijie['id']}", headers=HTML).status_code == 404
    consented = run_admission(TO_CONSENTED)
    assert client.get(f"/notices/{consented['id']}").status_code == 404
    assert client.get("/notices/987654321").status_code == 404


def test_a_notice_scheduled_for_later_is_not_shown_yet(client, run_admission):
    adm = run_admission(TO_CONSENTED + [("publish", {"notice_from": days(3), "notice_to": days(10)})])
    assert client.get(f"/notices/{adm['id']}").status_code == 404
    assert adm["platform_name"] not in client.get("/notices").text


def test_recently_admitted_platforms_are_listed(client, hrss, run_admission):
    adm = run_admission(past_notice() + [("conclude", {"decision": "include", "included_from": days(-9)})])
    r = client.get("/notices")
    assert adm["platform_name"] in r.text and days(-9) in r.text
    r = client.get(f"/notices/{adm['id']}")
    assert r.status_code == 200 and "已纳入试点" in r.text and "不再受理异议" in r.text


def test_rejected_after_notice_is_not_on_the_board(client, hrss, run_admission):
    adm = run_admission(current_notice() + [("reject", {"reason": "申请人不再符合条件"})])
    assert adm["state"] == "rejected"
    assert adm["platform_name"] not in client.get("/notices").text
    detail = client.get(f"/notices/{adm['id']}")
    assert detail.status_code == 200 and "申请人不再符合条件" not in detail.text
