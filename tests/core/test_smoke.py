from tests.conftest import bearer


def test_health_and_me(client):
    assert client.get("/healthz").json()["status"] == "ok"
    r = client.get("/api/v1/me", headers=bearer("nn_si"))
    assert r.status_code == 200
    assert r.json()["role"] == "si_city"
    assert client.get("/api/v1/me").status_code == 401


def test_openapi_and_offline_docs(client):
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"].startswith("广西") and "/api/v1/auth/token" in spec["paths"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/vendor/swagger/swagger-ui-bundle.js" in docs.text
    assert client.get("/vendor/swagger/swagger-ui-bundle.js").status_code == 200


def test_bad_json_gets_a_clear_4xx(client):
    r = client.post("/api/v1/auth/token", content=b"\xff\xfe", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["reason"]


def test_access_log_never_holds_query_strings():
    import logging

    from oip.cli import _NoQueryStrings

    rec = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", "/api/v1/workers?q=450103199001010016", "1.1", 200),
        None,
    )
    assert _NoQueryStrings().filter(rec) and "4501031990" not in rec.getMessage()


def test_migrations_match_the_models(database):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import oip.models  # noqa: F401
    from oip.core.db import Base, get_engine

    with get_engine().connect() as c:
        assert compare_metadata(MigrationContext.configure(c), Base.metadata) == []
