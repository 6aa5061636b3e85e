"""The register of insurer contracts through the JSON API: create, list, read, amend, terminate;
overlaps and bad input refused with Chinese reasons naming the field; every write audited."""

from __future__ import annotations

from sqlalchemy import select

from oip.core import clock
from oip.core.audit_models import AuditEvent
from tests.conftest import bearer
from tests.insurers.conftest import contract_body, fresh_year

URL = "/api/v1/insurers/contracts"


def actions_of(db, contract_id: int) -> list[str]:
    return list(
        db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity_type == "insurer_contract", AuditEvent.entity_id == str(contract_id))
            .order_by(AuditEvent.seq)
        )
    )


def test_create_list_read_and_terminate(client, db):
    si = bearer("gx_si")
    y = fresh_year()
    body = contract_body(y, cities=["450200", "450100"], services=["payment_support", "appraisal_support"])
    r = client.post(URL, json=body, headers=si)
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["insurer"] == {"code": "insurer-a", "name": "甲财产保险股份有限公司广西分公司（演示）"}
    assert c["services"] == ["appraisal_support", "payment_support"]
    assert c["service_names"] == ["协助劳动能力鉴定", "协助待遇支付"]
    assert c["cities"] == [{"code": "450100", "name": "南宁市"}, {"code": "450200", "name": "柳州市"}]
    assert (c["valid_from"], c["valid_to"], c["last_day_in_force"]) == (f"{y}-01-01", f"{y}-12-31", f"{y}-12-31")
    assert c["status"] == "active" and c["status_name"] == "履行中" and c["version"] == 1
    assert c["in_force_today"] is False

    listed = client.get(URL, params={"on": f"{y}-06-01", "service": "payment_support"}, headers=si).json()
    assert [x["id"] for x in listed["items"]] == [c["id"]] and listed["total"] == 1
    assert client.get(f"{URL}/{c['id']}", headers=si).json()["document_no"] == body["document_no"]

    r = client.post(
        f"{URL}/{c['id']}/terminate",
        json={"terminated_on": f"{y}-07-01", "reason": "机构撤出广西", "version": 1},
        headers=si,
    )
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["status"] == "terminated" and t["status_name"] == "已终止"
    assert (t["terminated_on"], t["last_day_in_force"], t["termination_reason"]) == (
        f"{y}-07-01",
        f"{y}-06-30",
        "机构撤出广西",
    )
    assert t["version"] == 2
    assert client.get(URL, params={"on": f"{y}-07-01", "service": "payment_support"}, headers=si).json()["total"] == 0
    assert client.get(URL, params={"on": f"{y}-06-30", "service": "payment_support"}, headers=si).json()["total"] == 1
    # Terminated once: no second termination, no amendment.
    again = client.post(f"{URL}/{c['id']}/terminate", json={"terminated_on": f"{y}-08-01", "reason": "x"}, headers=si)
    assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition"
    assert client.patch(f"{URL}/{c['id']}", json={"reason": "x", "notes": "y"}, headers=si).status_code == 409
    assert actions_of(db, c["id"]) == ["insurer.contract_create", "insurer.contract_terminate"]


def test_a_termination_after_the_end_is_refused(client):
    si = bearer("gx_si")
    y = fresh_year()
    c = client.post(URL, json=contract_body(y), headers=si).json()
    r = client.post(f"{URL}/{c['id']}/terminate", json={"terminated_on": f"{y + 1}-01-01", "reason": "x"}, headers=si)
    assert r.status_code == 400 and r.json()["error"]["field"] == "terminated_on"
    r = client.post(f"{URL}/{c['id']}/terminate", json={"terminated_on": f"{y}-03-01", "reason": " "}, headers=si)
    assert r.status_code == 400 and r.json()["error"]["field"] == "reason"


def test_an_overlap_is_refused_naming_the_city_and_the_other_contract(client):
    si = bearer("gx_si")
    y = fresh_year()
    first = client.post(URL, json=contract_body(y, cities=["450300", "450400"]), headers=si).json()
    clash = contract_body(
        y, insurer_code="insurer-b", cities=["450300"], valid_from=f"{y}-12-31", valid_to=f"{y + 1}-12-31"
    )
    r = client.post(URL, json=clash, headers=si)
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["field"] == "cities"
    assert "桂林市" in err["reason"] and first["document_no"] in err["reason"] and "协助待遇支付" in err["reason"]
    assert f"{y}-12-31 至 {y}-12-31" in err["reason"]
    # Another service, another city or the next day: no overlap.
    for ok in (
        {**clash, "services": ["material_collection", "appraisal_support"]},
        {**clash, "cities": ["450500"]},
        {**clash, "valid_from": f"{y + 1}-01-01"},
    ):
        ok["document_no"] += "-" + "-".join(ok["services"] + ok["cities"]) + ok["valid_from"]
        r = client.post(URL, json=ok, headers=si)
        assert r.status_code == 201, r.text
    # Terminated from 1 July: a new contract may start that day, not the day before.
    client.post(
        f"{URL}/{first['id']}/terminate", json={"terminated_on": f"{y}-07-01", "reason": "提前终止"}, headers=si
    )
    early = contract_body(
        y, insurer_code="insurer-b", cities=["450400"], valid_from=f"{y}-06-30", valid_to=f"{y}-11-30"
    )
    r = client.post(URL, json=early, headers=si)
    assert r.status_code == 409 and "梧州市" in r.json()["error"]["reason"]
    r = client.post(URL, json={**early, "valid_from": f"{y}-07-01"}, headers=si)
    assert r.status_code == 201, r.text


def test_bad_input_is_refused_naming_the_field(client):
    si = bearer("gx_si")
    y = fresh_year()
    cases = [
        ({"insurer_code": "no-such-insurer"}, "insurer_code", "未知的受托保险机构"),
        ({"insurer_code": "platform-meituan"}, "insurer_code", "未知的受托保险机构"),
        ({"cities": ["110100"]}, "cities", "不是广西壮族自治区设区市"),
        ({"cities": ["450103"]}, "cities", "450103"),
        ({"cities": []}, "cities", "至少选择一个城市"),
        ({"services": []}, "services", "至少选择一项"),
        ({"services": ["audit"]}, "services", "未知的服务事项"),
        ({"valid_to": f"{y - 1}-12-31"}, "valid_to", "不能早于起始日期"),
        ({"document_no": "  "}, "document_no", "请填写协议文号"),
    ]
    for over, field, words in cases:
        r = client.post(URL, json=contract_body(y, **over), headers=si)
        assert r.status_code == 400, (over, r.text)
        assert r.json()["error"]["field"] == field and words in r.json()["error"]["reason"], (over, r.text)
    r = client.post(URL, json={**contract_body(y), "valid_from": "明天"}, headers=si)
    assert r.status_code == 422 and r.json()["error"]["field"] == "valid_from"
    assert "应为日期" in r.json()["error"]["reason"]
    body = contract_body(y)
    assert client.post(URL, json=body, headers=si).status_code == 201
    dup = client.post(URL, json={**body, "cities": ["450500"]}, headers=si)
    assert dup.status_code == 409 and dup.json()["error"]["field"] == "document_no"


def test_an_amendment_is_versioned_and_audited(client, db):
    hrss = bearer("gx_hrss")
    y = fresh_year()
    c = client.post(URL, json=contract_body(y, cities=["450600"]), headers=hrss).json()
    r = client.patch(
        f"{URL}/{c['id']}",
        json={"cities": ["450600", "450700"], "valid_to": f"{y + 1}-06-30", "reason": "补充协议一", "version": 1},
        headers=hrss,
    )
    assert r.status_code == 200, r.text
    a = r.json()
    assert [x["name"] for x in a["cities"]] == ["防城港市", "钦州市"] and a["valid_to"] == f"{y + 1}-06-30"
    assert a["version"] == 2 and a["document_no"] == c["document_no"]
    stale = client.patch(f"{URL}/{c['id']}", json={"notes": "迟到的修改", "reason": "x", "version": 1}, headers=hrss)
    assert stale.status_code == 409 and stale.json()["error"]["field"] == "version"
    assert client.patch(f"{URL}/{c['id']}", json={"notes": "x"}, headers=hrss).status_code == 422  # reason required
    same = client.patch(f"{URL}/{c['id']}", json={"cities": ["450700", "450600"], "reason": "无变化"}, headers=hrss)
    assert same.json()["version"] == 2
    other = client.post(URL, json=contract_body(y, insurer_code="insurer-b", cities=["450800"]), headers=hrss).json()
    clash = client.patch(f"{URL}/{other['id']}", json={"cities": ["450700"], "reason": "扩大范围"}, headers=hrss)
    assert clash.status_code == 409 and "钦州市" in clash.json()["error"]["reason"]
    events = list(
        db.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "insurer_contract", AuditEvent.entity_id == str(c["id"]))
            .order_by(AuditEvent.seq)
        )
    )
    assert [e.action for e in events] == ["insurer.contract_create", "insurer.contract_amend"]
    amend = events[1]
    assert amend.before == {"cities": ["450600"], "valid_to": f"{y}-12-31", "version": 1}
    assert amend.after == {
        "cities": ["450600", "450700"],
        "valid_to": f"{y + 1}-06-30",
        "version": 2,
        "reason": "补充协议一",
    }


def test_today_is_in_force_for_the_demo_contracts(client):
    today = clock.today().isoformat()
    listed = client.get(URL, params={"on": today, "service": "investigation", "size": 200}, headers=bearer("gx_hrss"))
    listed = listed.json()
    covered = {x["code"] for c in listed["items"] for x in c["cities"]}
    assert len(covered) == 14
