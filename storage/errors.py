"""Exceptions raised by the repository functions."""

from __future__ import annotations


class StorageError(Exception):
    """Base class for storage errors callers may want to catch."""


class NotFound(StorageError, LookupError):
    """A row the caller referred to does not exist."""


class InvalidTransition(StorageError):
    """A ticket status change the lifecycle does not allow; nothing was changed."""
