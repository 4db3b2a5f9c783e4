"""The base of every core API answer (apart from `models`, so that a command loading one answer does not define
all of them)."""
from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, model_serializer

from archive_store.errors import YuetanError


class ApiModel(BaseModel):
    """Base of every answer: keys named in `_omit_if_none` are left out of the dump when they are None
    (the `--json` objects have always left them out rather than written null)."""

    model_config = ConfigDict(populate_by_name=True, defer_build=True)   # a model builds its schema when first used
    _omit_if_none: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _serialize(self, handler):
        data = handler(self)
        for key in self._omit_if_none:
            if data.get(key, 0) is None:
                del data[key]
        return self._shape(data)

    def _shape(self, data: dict) -> Any:
        """A model whose dump differs with its content reshapes it here."""
        return data

    def failure(self) -> YuetanError | None:
        """For an answer that reports a failed check or failed cases: the error that sets the exit status
        (marked as already reported: the answer itself says what failed)."""
        return None
