from tests.conftest import bearer


def test_health_and_me(client):
    assert client.get("/healthz").json()["status"] == "ok"
    r = client.get("/api/v1/me", headers=bearer("nn_si"))
    assert r.status_code == 200
    assert r.json()["role"] == "si_city"
    assert client.get("/api/v1/me").status_code == 401
