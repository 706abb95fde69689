"""Domain errors. The web layer maps each to one HTTP status; none of them is a 500."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the core raises on purpose."""


class InvalidTransition(DomainError):
    def __init__(self, current: str, target: str):
        super().__init__(f"状态不能从 {current} 变为 {target}")
        self.current, self.target = current, target


class NotFound(DomainError):
    pass


class Conflict(DomainError):
    pass


class Forbidden(DomainError):
    pass


class InvalidInput(DomainError):
    """Bad input with the field paths it concerns: [(field, message), ...]."""

    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.errors = errors
