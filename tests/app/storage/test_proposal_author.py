"""Who made each proposal (#22, migration 0014): a dispatcher's ``propose`` stores its
login as the author, under the login's own grants (a new column of proposals is covered
by the table's); ``proposals --json`` lists it; a supervisor reads it and may not write
it; 0014 goes down and up again with old rows keeping no author."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from app.foundation.clock import ManualClock
from app.foundation.settings import DatabaseSettings, DemoSettings, Settings
from app.storage.database import alembic_config, connect
from app.storage.people import add_user
from app.tower.proposal_commands import DONE, proposals_listing, propose
from app.tower.startup import open_tower
from tests.app.storage.conftest import _fresh_schema

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]
NOW = 1_780_000_000.0 + 9 * 3600  # a June morning in Lyon


@pytest.fixture
def demo_url(postgres_database: str) -> Iterator[str]:
    yield from _fresh_schema(postgres_database)


def _settings(url: str) -> Settings:
    return Settings(database=DatabaseSettings(url), demo=DemoSettings(enabled=True, simulate=False))


@pytest.fixture
def logins(demo_url: str) -> Iterator[dict[str, str]]:
    """The demo day seeded, and a dispatcher and a supervisor of this run (login roles are
    the server's)."""
    seeding = open_tower(_settings(demo_url), ManualClock(NOW))  # the day, by the superuser
    seeding.stop()
    seeding.sessions.kw["bind"].dispose()
    engine = create_engine(demo_url)
    names = {role: f"{role[:3]}_{uuid.uuid4().hex[:8]}" for role in ("dispatcher", "supervisor")}
    with Session(engine) as s, s.begin():
        for role, name in names.items():
            add_user(s, name, role, name, NOW, "test")
    url = make_url(demo_url)
    yield {
        role: url.set(username=name).render_as_string(hide_password=False)
        for role, name in names.items()
    }
    with engine.begin() as c:
        for name in names.values():
            c.execute(text(f'DROP OWNED BY "{name}"'))
            c.execute(text(f'DROP ROLE "{name}"'))
    engine.dispose()


def test_a_dispatchers_proposal_names_its_login_and_a_supervisor_reads_it(
    logins: dict[str, str],
) -> None:
    dispatcher = make_url(logins["dispatcher"]).username
    made = propose(_settings(logins["dispatcher"]), "V03", ManualClock(NOW))
    assert made.code == DONE, made.error
    assert made.body["author"] == dispatcher
    assert made.body["asked"]["vehicle_id"] == "V03"

    listed = proposals_listing(_settings(logins["supervisor"]), "open").body["proposals"]
    assert [(p["id"], p["author"]) for p in listed] == [(made.body["id"], dispatcher)]
    engine = create_engine(logins["supervisor"])
    try:
        with pytest.raises(ProgrammingError, match="permission denied"), engine.begin() as c:
            c.execute(text("UPDATE proposals SET author = 'mallory'"))
    finally:
        engine.dispose()


def test_0014_goes_down_and_up_and_old_rows_have_no_author(demo_url: str) -> None:
    sessions = connect(demo_url)
    engine = sessions.kw["bind"]
    config = alembic_config()
    with engine.begin() as c:
        config.attributes["connection"] = c
        command.downgrade(config, "0013")
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO proposals (depot_id, created_at, trigger, status, diff,"
                " figures_before, figures_after, auto_accepted)"
                " VALUES ('D1', 0, 'old', 'open', '{}', '{}', '{}', false)"
            )
        )
        config.attributes["connection"] = c
        command.upgrade(config, "head")
    listed = proposals_listing(_settings(demo_url), "open").body["proposals"]
    assert [(p["trigger"], p["author"], p["asked"]) for p in listed] == [("old", None, None)]
    engine.dispose()
