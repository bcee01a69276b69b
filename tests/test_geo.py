"""GCJ-02 ↔ WGS84: WeChat pins must be shifted back before the grid lookup."""

from __future__ import annotations

import math

from handlers.geo import gcj02_to_wgs84, wgs84, wgs84_to_gcj02
from handlers.messages import Datum, GeoPoint


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat = math.radians((a[1] + b[1]) / 2)
    return math.hypot((a[0] - b[0]) * 111_320 * math.cos(lat), (a[1] - b[1]) * 110_574)


def test_the_shift_in_changsha_is_hundreds_of_metres_and_round_trips() -> None:
    point = (113.0372, 28.1968)
    shifted = wgs84_to_gcj02(*point)
    assert 300 < metres(point, shifted) < 800
    assert metres(gcj02_to_wgs84(*shifted), point) < 0.5


def test_the_vector_of_an_independent_implementation() -> None:
    # wandergis/coordtransform's test: wgs84togcj02(116.404, 39.915).
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert math.isclose(lon, 116.41024449916938, abs_tol=1e-9)
    assert math.isclose(lat, 39.91640428150164, abs_tol=1e-9)


def test_points_outside_china_are_not_shifted() -> None:
    assert wgs84_to_gcj02(2.3522, 48.8566) == (2.3522, 48.8566)


def test_a_gcj02_pin_lands_in_the_same_grid_as_its_wgs84_point() -> None:
    lon, lat = wgs84_to_gcj02(113.0372, 28.1968)
    pin = GeoPoint(latitude=lat, longitude=lon, datum=Datum.GCJ02)
    assert metres(wgs84(pin), (113.0372, 28.1968)) < 0.5
