"""Marshmallow schemas derived from the document dataclasses (``indexer.document``).

No field is listed twice: the API's response schemas and validation of stored documents come from
walking the dataclass fields and their type hints.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache
from typing import Any

from marshmallow import Schema, fields, validate

from indexer import catalogue
from indexer.document import Agency, Check, Provenance, Region, ReportDocument, Section, Warning

_SCALARS: dict[type, type[fields.Field]] = {
    str: fields.String,
    int: fields.Integer,
    float: fields.Float,
    bool: fields.Boolean,
}


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]), True  # noqa: UP007
    return tp, False


def _field_for(tp: Any, meta: dict[str, Any]) -> fields.Field:
    inner, optional = _unwrap_optional(tp)
    kwargs: dict[str, Any] = {"allow_none": optional}
    if meta.get("choices"):
        kwargs["validate"] = validate.OneOf(meta["choices"])
    origin = typing.get_origin(inner)
    if meta.get("search") == "metrics":
        return fields.Dict(
            keys=fields.String(validate=validate.OneOf(catalogue.metric_index())),
            values=fields.Float(allow_none=True),
            **kwargs,
        )
    if origin is list:
        (item,) = typing.get_args(inner)
        item_field = fields.Nested(schema_for(item)) if dataclasses.is_dataclass(item) else _field_for(item, meta)
        kwargs.pop("validate", None)
        return fields.List(item_field, **kwargs)
    if dataclasses.is_dataclass(inner):
        return fields.Nested(schema_for(inner), **kwargs)
    if typing.get_origin(inner) in (typing.Union, types.UnionType):  # float | int
        return fields.Float(**kwargs)
    return _SCALARS[inner](**kwargs)


@cache
def schema_for(cls: type) -> type[Schema]:
    """A marshmallow Schema class for a document dataclass, named after it."""
    hints = typing.get_type_hints(cls)
    attrs = {f.name: _field_for(hints[f.name], dict(f.metadata)) for f in dataclasses.fields(cls)}
    return Schema.from_dict(attrs, name=f"{cls.__name__}Schema")


ReportSchema = schema_for(ReportDocument)
AgencySchema = schema_for(Agency)
RegionSchema = schema_for(Region)
SectionSchema = schema_for(Section)
CheckSchema = schema_for(Check)
WarningSchema = schema_for(Warning)
ProvenanceSchema = schema_for(Provenance)
