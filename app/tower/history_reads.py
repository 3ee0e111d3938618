"""What the window and the report read from the database, behind the facade.

widgets/ never imports app.storage (an import-linter contract holds it): the KPI
service, a vehicle's trail and the database's description for the status bar come from
here, each built from the tower's own session factory or settings.
"""

from __future__ import annotations

from app.domain.model import TelemetryFix
from app.foundation.clock import Clock
from app.foundation.settings import Settings
from app.storage.database import SessionFactory, describe_url
from app.storage.depot_settings import depot_configs
from app.storage.history_repository import HistoryRepository
from app.storage.telemetry_repository import vehicle_fixes
from app.tower.data_setup import database_url, open_database
from app.tower.kpi_service import KpiService


def kpi_service(sessions: SessionFactory, clock: Clock, timezone: str) -> KpiService:
    """The KPI service over the history stored in ``sessions``' database: a depot's
    figures in its own zone, every depot's together in ``timezone``."""
    zones = {depot_id: c.timezone for depot_id, c in depot_configs(sessions).items()}
    return KpiService(HistoryRepository(sessions), clock, timezone, zones=zones)


def report_service(settings: Settings, clock: Clock) -> KpiService:
    """The KPI service of the configured database, opened (and migrated) for a report."""
    return kpi_service(open_database(settings), clock, settings.depot.timezone)


def vehicle_trail(sessions: SessionFactory, vehicle_id: str, since: float) -> list[TelemetryFix]:
    """One vehicle's stored fixes since ``since``, oldest first (the map's trail)."""
    return vehicle_fixes(sessions, vehicle_id, since)


def database_description(settings: Settings) -> str:
    """The configured database's URL without its password, for the status bar."""
    return describe_url(database_url(settings))
