"""Column types shared by the models: UTC-aware datetimes and enums stored as strings."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import Dialect


def require_aware(value: datetime, *, name: str = "datetime") -> datetime:
    """Return `value` converted to UTC; raise ValueError if it is naive."""
    if value.utcoffset() is None:
        raise ValueError(
            f"{name} must be timezone-aware (got naive {value.isoformat()}); "
            "use datetime.now(UTC) or attach a tzinfo"
        )
    return value.astimezone(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timestamp that only accepts aware datetimes and always reads back aware UTC.

    PostgreSQL stores it as `timestamptz`; SQLite has no time zones, so UTC wall time is
    stored without an offset and UTC is attached again on read.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc_value = require_aware(value)
        if dialect.name == "sqlite":
            return utc_value.replace(tzinfo=None)
        return utc_value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


ENUM_COLUMN_LENGTH = 32


def string_enum(enum_class: type[StrEnum]) -> sa.Enum:
    """Column type storing `enum_class` values as VARCHAR (no native enum, no CHECK)."""
    return sa.Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=ENUM_COLUMN_LENGTH,
        values_callable=_enum_values,
        validate_strings=True,
    )


def _enum_values(enum_class: type[StrEnum]) -> list[Any]:
    return [member.value for member in enum_class]
