"""One exception hierarchy; the CLI turns any of these into a one-line message and a non-zero exit."""

from __future__ import annotations


class EdgeNLUError(Exception):
    """Base class of every error edge-nlu raises on purpose."""


MAX_MESSAGE = 400  # a message quoting a huge value (a 1 MB sample) keeps its start and end


def _shorten(message: str) -> str:
    if len(message) <= MAX_MESSAGE:
        return message
    return f"{message[: MAX_MESSAGE - 120]} ...[{len(message) - MAX_MESSAGE + 20} characters]... {message[-100:]}"


class DefinitionError(EdgeNLUError, ValueError):
    """A skill definition (or data file) has a user mistake; says which file, line and field."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = _shorten(message)
        self.file = file
        self.line = line
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = str(self.file)
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        elif self.line is not None:
            where = f"line {self.line}: "
        if self.field:
            where += f"{self.field}: "
        return where + self.message


class ArtifactError(EdgeNLUError):
    """A model file is missing, corrupted or does not match its base; says which file and which check failed."""

    def __init__(self, message: str, *, file: str | None = None, check: str | None = None) -> None:
        self.message = message
        self.file = file
        self.check = check
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.check:
            parts.append(f"[{self.check}]")
        return (" ".join(parts) + ": " if parts else "") + self.message


class UnknownSkillError(EdgeNLUError, KeyError):
    """A skill name that is not installed."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "unknown skill"


class InputError(EdgeNLUError, ValueError):
    """An utterance the runtime refuses by policy (e.g. over the length limit or not a string)."""


class MissingExtraError(EdgeNLUError, ImportError):
    """A feature needs an optional extra (e.g. `pip install edge-nlu[build]`)."""
