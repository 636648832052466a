"""Stand-ins for Ray internals that have no meaning on a Dask cluster (protocol buffer messages
of Ray's GCS, autoscaler machinery): importable, with real enum values; calling such a function,
or parsing or serializing such a message, raises ``NotImplementedError`` naming it."""
from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Any, NoReturn

__all__ = ["ProtoEnum", "message", "unavailable"]


def _refuse(name: str, why: str) -> NoReturn:
    raise NotImplementedError(f"{name} is not available on raylike: {why}")


def unavailable(name: str, why: str) -> Callable[..., Any]:
    """A function named ``name`` that raises when called."""
    def call(*_: Any, **__: Any) -> NoReturn:
        _refuse(name, why)
    call.__name__ = call.__qualname__ = name.rsplit(".", 1)[-1]
    return call


class ProtoEnum(IntEnum):
    """A protocol buffer enum's values, with protobuf's lookups (``Name``, ``Value``)."""

    @classmethod
    def Name(cls, number: int) -> str:  # noqa: N802 (protobuf's name)
        return cls(number).name

    @classmethod
    def Value(cls, name: str) -> int:  # noqa: N802 (protobuf's name)
        return int(cls[name])

    @classmethod
    def keys(cls) -> list[str]:
        return [member.name for member in cls]

    @classmethod
    def values(cls) -> list[int]:
        return [int(member) for member in cls]

    @classmethod
    def items(cls) -> list[tuple[str, int]]:
        return [(member.name, int(member)) for member in cls]


def message(qualname: str, why: str, **nested: Any) -> type:
    """A protocol buffer message class: it can be built (its keyword fields kept as
    attributes) but not parsed, serialized or sent; ``nested`` holds its nested enums (real
    values)."""
    def init(self: Any, **fields: Any) -> None:
        self.__dict__.update(fields)

    def parse(cls: type, *_: Any, **__: Any) -> NoReturn:
        _refuse(f"{qualname}.FromString", why)

    def serialize(self: Any) -> NoReturn:
        _refuse(f"{qualname}.SerializeToString", why)

    def parse_into(self: Any, *_: Any) -> NoReturn:
        _refuse(f"{qualname}.ParseFromString", why)

    attrs: dict[str, Any] = {"__init__": init, "FromString": classmethod(parse),
                             "SerializeToString": serialize, "ParseFromString": parse_into,
                             "__doc__": f"Ray's ``{qualname}`` message: {why}."}
    for name, enum in nested.items():
        attrs[name] = enum
        attrs.update({member.name: member for member in enum})  # protobuf puts them here too
    return type(qualname.rsplit(".", 1)[-1], (), attrs)
