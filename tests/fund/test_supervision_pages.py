"""基金监督 through the pages and the API: a campaign opened from the form (cities by name), a task
reported with findings rows, rectified by the checked city, closed by the region; 要情报告 with the
datetime picker; Chinese names on every page, and another city kept out."""

from __future__ import annotations

import datetime as dt
import re

from oip.core import clock
from tests.conftest import bearer, sign_in

NN, LZ, GL = "450100", "450200", "450300"


def _id(location: str, what: str) -> int:
    return int(re.search(rf"/{what}/(\d+)", location).group(1))


def test_campaign_through_the_pages(client):
    csrf = sign_in(client, "gx_hrss")
    r = client.get("/fund/supervision")
    assert r.status_code == 200 and "发起监督检查" in r.text and "南宁市" in r.text and "交叉互查" in r.text
    due = (clock.today() + dt.timedelta(days=20)).isoformat()
    r = client.post(
        "/fund/supervision/campaigns",
        data={"csrf_token": csrf, "kind": "self_check", "title": "页面自查", "due_on": due, "cities": []},
        follow_redirects=False,
    )
    assert r.status_code == 400 and "请至少选择" in r.text
    r = client.post(
        "/fund/supervision/campaigns",
        data={"csrf_token": csrf, "kind": "self_check", "title": "页面自查", "due_on": due, "cities": [NN, GL]},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    cid = _id(r.headers["location"], "campaigns")
    page = client.get(r.headers["location"]).text
    assert "监督检查已发起" in page and "南宁市" in page and "桂林市" in page and "风险自查" in page
    assert "0/2" in page
    task_ids = [int(x) for x in re.findall(r'href="/fund/supervision/tasks/(\d+)"', page)]
    assert len(task_ids) == 2
    assert "页面自查" in client.get("/fund/supervision").text

    # 南宁 reports its own task: two rows filled, the rest left blank.
    csrf = sign_in(client, "nn_si")
    nn_task = next(t for t in task_ids if "检查任务：南宁市" in client.get(f"/fund/supervision/tasks/{t}").text)
    other = next(t for t in task_ids if t != nn_task)
    assert client.get(f"/fund/supervision/tasks/{other}").status_code == 404
    r = client.get(f"/fund/supervision/tasks/{nn_task}")
    assert 'data-testid="report-task"' in r.text and 'type="date"' in r.text
    by = (clock.today() + dt.timedelta(days=5)).isoformat()
    form = {
        "csrf_token": csrf,
        "report": "自查两个月的支付",
        "description_0": "一笔支付缺少复核",
        "severity_0": "low",
        "amount_0": "",
        "rectify_by_0": by,
        "description_1": "重复支付医疗费",
        "severity_1": "high",
        "amount_1": "1,2",
        "rectify_by_1": by,
    }
    r = client.post(f"/fund/supervision/tasks/{nn_task}/report", data=form, follow_redirects=False)
    assert r.status_code == 400 and "涉及金额" in r.text and "重复支付医疗费" in r.text
    form["amount_1"] = "1234.50"
    r = client.post(f"/fund/supervision/tasks/{nn_task}/report", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"]).text
    assert "1,234.50" in page and "严重" in page and "待整改" in page and 'data-testid="report-task"' not in page
    fids = [int(x) for x in re.findall(r'data-finding="(\d+)"', page)]
    assert len(fids) == 2
    for fid in fids:
        r = client.post(
            f"/fund/supervision/findings/{fid}/rectify",
            data={"csrf_token": csrf, "text": "已整改"},
            follow_redirects=False,
        )
        assert r.status_code == 303
    assert client.get(f"/fund/supervision/tasks/{nn_task}").text.count("已整改待销号") == 2

    # 桂林 cannot rectify 南宁's finding (not in its scope).
    csrf_gl = sign_in(client, "gl_si")
    r = client.post(
        f"/fund/supervision/findings/{fids[0]}/rectify",
        data={"csrf_token": csrf_gl, "text": "x"},
        follow_redirects=False,
    )
    assert r.status_code == 404

    # The region closes one, sends the other back.
    csrf = sign_in(client, "gx_si")
    r = client.post(f"/fund/supervision/findings/{fids[0]}/close", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    r = client.post(
        f"/fund/supervision/findings/{fids[1]}/reopen", data={"csrf_token": csrf, "reason": ""}, follow_redirects=False
    )
    assert r.status_code == 400 and "退回理由" in r.text
    r = client.post(
        f"/fund/supervision/findings/{fids[1]}/reopen",
        data={"csrf_token": csrf, "reason": "未追回"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/fund/supervision/tasks/{nn_task}").text
    assert "已销号" in page and "待整改" in page
    summary = client.get("/fund/supervision").text
    assert 'data-testid="findings-by-city"' in summary

    # The API shows the same campaign; 桂林 sees only its own task, another city (柳州) nothing.
    r = client.get(f"/api/v1/fund/supervision/campaigns/{cid}", headers=bearer("gl_si"))
    assert r.status_code == 200 and [t["city_code"] for t in r.json()["task_list"]] == [GL]
    assert client.get(f"/api/v1/fund/supervision/campaigns/{cid}", headers=bearer("lz_hrss")).status_code == 404
    r = client.get(f"/api/v1/fund/supervision/tasks/{nn_task}", headers=bearer("gx_finance"))
    assert r.status_code == 200 and len(r.json()["findings"]) == 2


def test_cross_check_and_findings_through_the_api(client):
    gx = bearer("gx_si")
    due = (clock.today() + dt.timedelta(days=15)).isoformat()
    r = client.post(
        "/api/v1/fund/supervision/campaigns",
        json={"kind": "cross_check", "title": "接口互查", "due_on": due, "cities": [NN, LZ, GL]},
        headers=gx,
    )
    assert r.status_code == 201, r.text
    c = r.json()
    who = {t["city_code"]: t["checker_code"] for t in c["task_list"]}
    assert who == {NN: LZ, LZ: GL, GL: NN}
    assert {t["checker_name"] for t in c["task_list"]} == {"南宁市", "柳州市", "桂林市"}
    assert client.post("/api/v1/fund/supervision/campaigns", json={}, headers=bearer("nn_si")).status_code == 403
    task_gl = next(t for t in c["task_list"] if t["city_code"] == GL)
    r = client.post(
        f"/api/v1/fund/supervision/tasks/{task_gl['id']}/report",
        json={"report": "互查", "findings": [{"description": "台账缺失", "severity": "medium", "amount_fen": 100}]},
        headers=bearer("nn_si"),
    )
    assert r.status_code == 200, r.text
    fid = r.json()["findings"][0]["id"]
    r = client.post(f"/api/v1/fund/supervision/findings/{fid}/rectify", json={"text": "x"}, headers=bearer("nn_si"))
    assert r.status_code == 403
    r = client.post(f"/api/v1/fund/supervision/findings/{fid}/rectify", json={"text": "已补"}, headers=bearer("gl_si"))
    assert r.status_code == 200 and r.json()["status"] == "rectified"
    r = client.post(f"/api/v1/fund/supervision/findings/{fid}/close", headers=gx)
    assert r.status_code == 200 and r.json()["status"] == "closed"
    r = client.get(f"/api/v1/fund/supervision/tasks/{task_gl['id']}", headers=gx)
    assert r.json()["status"] == "closed"


def test_major_reports_through_the_pages_and_the_api(client):
    csrf = sign_in(client, "lz_hrss")
    r = client.get("/fund/supervision/major")
    assert r.status_code == 200 and 'type="datetime-local"' in r.text and "欺诈骗保" in r.text
    long_ago = clock.local(clock.now() - dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    r = client.post(
        "/fund/supervision/major",
        data={
            "csrf_token": csrf,
            "category": "fraud",
            "title": "页面要情",
            "content": "发现团伙冒领",
            "occurred_at": long_ago,
            "amount": "5000",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    mid = _id(r.headers["location"], "major")
    page = client.get(r.headers["location"]).text
    assert "迟报" in page and "柳州市" in page and "5,000.00" in page and "欺诈骗保" in page
    assert 'data-testid="acknowledge"' not in page
    sign_in(client, "nn_si")
    assert client.get(f"/fund/supervision/major/{mid}").status_code == 404
    assert "页面要情" not in client.get("/fund/supervision/major").text
    csrf = sign_in(client, "gx_hrss")
    assert "页面要情" in client.get("/fund/supervision/major?status=submitted").text
    r = client.post(
        f"/fund/supervision/major/{mid}/close", data={"csrf_token": csrf, "outcome": "x"}, follow_redirects=False
    )
    assert r.status_code == 409 and "先接收" in r.text
    r = client.post(f"/fund/supervision/major/{mid}/acknowledge", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    r = client.post(
        f"/fund/supervision/major/{mid}/close",
        data={"csrf_token": csrf, "outcome": "已移送公安"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "已办结" in client.get(f"/fund/supervision/major/{mid}").text
    # The API: on time now, then refused for the region (not a reporter).
    now = clock.now().isoformat()
    r = client.post(
        "/api/v1/fund/supervision/major-reports",
        json={"category": "system", "title": "接口要情", "content": "数据泄露风险", "occurred_at": now},
        headers=bearer("nn_hrss"),
    )
    assert r.status_code == 201 and r.json()["late"] is False and r.json()["region_code"] == NN
    r = client.post(
        "/api/v1/fund/supervision/major-reports",
        json={"category": "system", "title": "x", "content": "y", "occurred_at": now},
        headers=bearer("gx_finance"),  # finance neither supervises nor answers
    )
    assert r.status_code == 403
    r = client.get("/api/v1/fund/supervision/major-reports", headers=bearer("nn_si"))
    assert r.status_code == 200 and all(m["region_code"] == NN for m in r.json()["items"])


def test_many_findings_are_paginated(client):
    due = (clock.today() + dt.timedelta(days=10)).isoformat()
    r = client.post(
        "/api/v1/fund/supervision/campaigns",
        json={"kind": "self_check", "title": "分页自查", "due_on": due, "cities": [LZ]},
        headers=bearer("gx_hrss"),
    )
    task_id = r.json()["task_list"][0]["id"]
    findings = [{"description": f"问题第{i:03d}号", "severity": "low", "amount_fen": i} for i in range(1, 56)]
    r = client.post(
        f"/api/v1/fund/supervision/tasks/{task_id}/report",
        json={"report": "逐项自查", "findings": findings},
        headers=bearer("lz_hrss"),
    )
    assert r.status_code == 200 and len(r.json()["findings"]) == 55
    last = r.json()["findings"][-1]["id"]
    csrf = sign_in(client, "lz_hrss")
    first = client.get(f"/fund/supervision/tasks/{task_id}").text
    assert "问题第001号" in first and "问题第055号" not in first and 'data-testid="findings-pager"' in first
    assert "（55 个）" in first
    second = client.get(f"/fund/supervision/tasks/{task_id}?page=2").text
    assert "问题第055号" in second and "问题第001号" not in second
    r = client.post(
        f"/fund/supervision/findings/{last}/rectify",
        data={"csrf_token": csrf, "text": "已整改"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "page=2" in r.headers["location"]


def test_cross_check_checkers_picked_on_the_form(client):
    csrf = sign_in(client, "gx_si")
    page = client.get("/fund/supervision").text
    assert 'name="checker_450100"' in page and "按轮换" in page
    due = (clock.today() + dt.timedelta(days=25)).isoformat()
    data = {
        "csrf_token": csrf,
        "kind": "cross_check",
        "title": "指定检查单位的互查",
        "due_on": due,
        "cities": [NN, LZ, GL],
        "checker_450100": GL,
        "checker_450300": NN,
    }
    r = client.post("/fund/supervision/campaigns", data=data, follow_redirects=False)
    assert r.status_code == 400 and "请为 柳州市 指定检查单位" in r.text
    r = client.post("/fund/supervision/campaigns", data={**data, "checker_450200": GL}, follow_redirects=False)
    assert r.status_code == 303, r.text
    cid = _id(r.headers["location"], "campaigns")
    got = client.get(f"/api/v1/fund/supervision/campaigns/{cid}", headers=bearer("gx_si")).json()
    assert {t["city_name"]: t["checker_name"] for t in got["task_list"]} == {
        "南宁市": "桂林市",
        "柳州市": "桂林市",
        "桂林市": "南宁市",
    }
