"""The schema comes from Alembic migrations, and the migrations match the models."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from api import create_app
from api.core.migrate import current_revision, head_revision, include_object
from api.models import metadata
from tests.fixtures.backends import TEST_CONFIG


def test_flask_db_upgrade_on_an_empty_database_reaches_head(empty_database_url):
    app = create_app({**TEST_CONFIG, "DATABASE_URL": empty_database_url})
    engine = app.extensions["homeward.db"].engine
    with engine.connect() as connection:
        assert current_revision(connection) is None

    result = app.test_cli_runner().invoke(args=["db", "upgrade"])

    assert result.exit_code == 0, result.output
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision(app)
    assert app.test_client().get("/readyz").status_code == 200
    engine.dispose()


def test_readyz_refuses_traffic_until_migrated(empty_database_url):
    app = create_app({**TEST_CONFIG, "DATABASE_URL": empty_database_url})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert "flask db upgrade" in response.get_json()["detail"]
    app.extensions["homeward.db"].engine.dispose()


def test_models_match_migrations(app):
    engine = app.extensions["homeward.db"].engine
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_downgrade_to_base_and_back_up(empty_database_url):
    app = create_app({**TEST_CONFIG, "DATABASE_URL": empty_database_url})
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    downgraded = runner.invoke(args=["db", "downgrade", "base"])
    assert downgraded.exit_code == 0, downgraded.output
    engine = app.extensions["homeward.db"].engine
    with engine.connect() as connection:
        assert current_revision(connection) is None
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    engine.dispose()
