"""``oip appraisal check-draw``: the stored draw re-run from its seed and candidates."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from oip.cli import app
from tests.appraisal.conftest import confirmed_case, days_from_today
from tests.conftest import bearer

runner = CliRunner()


def test_check_draw_from_the_command_line(client):
    from oip.appraisal.models import AppraisalDraw
    from oip.core.db import session_scope

    cid = confirmed_case()
    h = bearer("nn_hrss")
    a = client.post(
        f"/api/v1/cases/{cid}/appraisals", json={"treatment_ended_on": days_from_today(-5)}, headers=h
    ).json()
    client.post(
        f"/api/v1/appraisals/{a['id']}/acceptance", json={"needed_specialties": ["ent"], "panel_size": 5}, headers=h
    )
    drawn = client.post(f"/api/v1/appraisals/{a['id']}/panel", json={}, headers=h).json()

    r = runner.invoke(app, ["appraisal", "check-draw", str(a["id"]), "--by", "qx_si"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["same"] is True and out["panel"] == [m["expert_id"] for m in drawn["panel"]]

    # A panel on record that its seed does not give is reported.
    with session_scope() as s:
        d = s.get(AppraisalDraw, out["draw_id"])
        d.panel = list(reversed(d.panel))
    r = runner.invoke(app, ["appraisal", "check-draw", str(a["id"]), "--by", "qx_si"])
    assert r.exit_code == 1 and json.loads(r.stdout)["same"] is False

    r = runner.invoke(app, ["appraisal", "check-draw", str(a["id"]), "--by", "meituan_admin"])
    assert r.exit_code == 2 and "无权" in r.output
    r = runner.invoke(app, ["appraisal", "check-draw", str(a["id"]), "--by", "lz_hrss"])
    assert r.exit_code == 2 and "不存在或不在您的数据范围内" in r.output
