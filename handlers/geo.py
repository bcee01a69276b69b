"""Coordinates: WeChat shares GCJ-02 ("Mars") points; grid polygons are WGS84."""

from __future__ import annotations

import math

from handlers.messages import Datum, GeoPoint

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared


def _outside_china(lon: float, lat: float) -> bool:
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _offset(lon: float, lat: float) -> tuple[float, float]:
    """The GCJ-02 shift (degrees of longitude, latitude) at a WGS84 point."""
    x, y = lon - 105.0, lat - 35.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    d_lat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    d_lat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    d_lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    d_lon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    d_lon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    d_lon += (
        (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return d_lon, d_lat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Shift a WGS84 point the way Chinese map services do; unchanged outside China."""
    if _outside_china(lon, lat):
        return lon, lat
    d_lon, d_lat = _offset(lon, lat)
    return lon + d_lon, lat + d_lat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Undo the GCJ-02 shift by fixed-point iteration (well under a metre after a few rounds)."""
    if _outside_china(lon, lat):
        return lon, lat
    guess_lon, guess_lat = lon, lat
    for _ in range(8):
        shifted_lon, shifted_lat = wgs84_to_gcj02(guess_lon, guess_lat)
        guess_lon += lon - shifted_lon
        guess_lat += lat - shifted_lat
    return guess_lon, guess_lat


def wgs84(point: GeoPoint) -> tuple[float, float]:
    """(longitude, latitude) of a shared point in WGS84, whatever datum it came in."""
    if point.datum is Datum.GCJ02:
        return gcj02_to_wgs84(point.longitude, point.latitude)
    return point.longitude, point.latitude
