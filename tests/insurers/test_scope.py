"""Who sees which contracts: the region all, a city or county office those covering its city, an
insurer its own; platforms and workers are refused; only the region's HRSS and SI centre manage."""

from __future__ import annotations

from tests.conftest import bearer
from tests.insurers.conftest import contract_body, fresh_year

URL = "/api/v1/insurers/contracts"


def _all(client, username: str, **params) -> list[dict]:
    out, page = [], 1
    while True:
        r = client.get(URL, params={**params, "page": page, "size": 200}, headers=bearer(username))
        assert r.status_code == 200, r.text
        out += r.json()["items"]
        if page * 200 >= r.json()["total"]:
            return out
        page += 1


def test_a_city_office_sees_the_contracts_covering_its_city(client):
    si = bearer("gx_si")
    y = fresh_year()
    nanning = client.post(URL, json=contract_body(y, cities=["450100", "451400"]), headers=si).json()
    liuzhou = client.post(URL, json=contract_body(y, cities=["450200"]), headers=si).json()
    for user in ("nn_hrss", "nn_si", "qx_hrss", "qx_si"):  # Nanning, and Qingxiu county inside it
        seen = _all(client, user)
        assert seen and all("450100" in [x["code"] for x in c["cities"]] for c in seen), user
        assert nanning["id"] in {c["id"] for c in seen} and liuzhou["id"] not in {c["id"] for c in seen}
        assert client.get(f"{URL}/{liuzhou['id']}", headers=bearer(user)).status_code == 404
        assert client.get(f"{URL}/{nanning['id']}", headers=bearer(user)).status_code == 200
    lz = {c["id"] for c in _all(client, "lz_hrss")}
    assert liuzhou["id"] in lz and nanning["id"] not in lz
    for user in ("gx_hrss", "gx_si", "gx_finance"):
        assert client.get(f"{URL}/{liuzhou['id']}", headers=bearer(user)).status_code == 200


def test_an_insurer_sees_only_its_own(client):
    si = bearer("gx_si")
    y = fresh_year()
    a = client.post(URL, json=contract_body(y, insurer_code="insurer-a", cities=["450900"]), headers=si).json()
    b = client.post(URL, json=contract_body(y, insurer_code="insurer-b", cities=["451000"]), headers=si).json()
    mine = _all(client, "insurer_a")
    assert mine and {c["insurer"]["code"] for c in mine} == {"insurer-a"}
    assert a["id"] in {c["id"] for c in mine}
    assert client.get(f"{URL}/{b['id']}", headers=bearer("insurer_a")).status_code == 404
    assert client.get(f"{URL}/{a['id']}", headers=bearer("insurer_a")).status_code == 200
    # Naming the other insurer in the filter shows nothing either.
    assert _all(client, "insurer_a", insurer_code="insurer-b") == []
    assert client.get(f"{URL}/{b['id']}", headers=bearer("insurer_b")).status_code == 200


def test_platforms_workers_and_others_are_refused(client):
    y = fresh_year()
    c = client.post(URL, json=contract_body(y, cities=["451100"]), headers=bearer("gx_si")).json()
    for user in ("meituan_admin", "worker_demo", "gx_tax", "gx_union", "gx_transport"):
        h = bearer(user)
        for r in (client.get(URL, headers=h), client.get(f"{URL}/{c['id']}", headers=h)):
            assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied", user
    # Reading is not managing: city officers, insurers and finance may not write.
    for user in ("nn_hrss", "nn_si", "insurer_a", "gx_finance"):
        h = bearer(user)
        assert client.post(URL, json=contract_body(fresh_year()), headers=h).status_code == 403, user
        r = client.post(f"{URL}/{c['id']}/terminate", json={"terminated_on": f"{y}-02-01", "reason": "x"}, headers=h)
        assert r.status_code == 403, user
