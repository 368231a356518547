"""The simulator's knobs that change at run time: request faults, call times, record faults.

One set of parsers serves the constructor, the CLI and POST /_simulator/faults, so a value
means the same wherever it is set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

NUMBER_FORMATS = ("plain", "plus86", "86")


class Span(NamedTuple):
    """A range of seconds, drawn from uniformly: `30-180`, or `5` for exactly 5."""

    low_s: float
    high_s: float

    @classmethod
    def parse(cls, text: str) -> Span:
        low, sep, high = text.strip().partition("-")
        try:
            span = cls(float(low), float(high if sep else low))
        except ValueError:
            raise ValueError(f"expected seconds as A-B or A, got {text!r}") from None
        if not 0 <= span.low_s <= span.high_s:
            raise ValueError(f"expected 0 <= A <= B, got {text!r}")
        return span

    def __str__(self) -> str:
        return f"{self.low_s:g}-{self.high_s:g}"


@dataclass
class Faults:
    """Fault injection and call behaviour; mutable at run time (`update`, or over HTTP).

    Requests:
      fail_rate:   share of StartBack2BackCall answered 500 InternalService.CTI, no call placed.
      hang_rate:   share of calls placed and then answered only after hang_s (client read timeout).
      drop_rate:   share of calls placed and then the connection closed with no answer.
      latency_ms:  added to every answer.
      max_qps:     account-wide throttle; over it the gateway answers Throttling.User.
    Calls (setting any of the first four makes calls take time; unset, calls are instant and
      their outcomes come from a fixed table, as before these knobs existed):
      caller_answer, callee_answer: probability each leg answers (unset: 1).
      ring_s, talk_s: seconds a leg rings before it is answered / the two parties talk
                      (unset: 0). A leg that is not answered rings until the request's
                      TimeoutSeconds.
      time_scale:  call time runs this many times faster than the wall clock.
      away_callers: callers away from the phone: their leg rings out ("A,B" or a list).
      callee_answer_by_ring: the callee's answer probability the 1st, 2nd… time their leg
                   rings ("0.5,0.3"; the last repeats); overrides callee_answer.
    Records:
      cdr_delay_ms:      a record is visible this long after its call is released.
      cdr_number_format: plain (as dialled), plus86 (+8613800000000) or 86 (8613800000000).
      cdr_odd_rate:      share of record lookups answered 200 {"Data": {"Status": "PROCESSING"}}.
    """

    latency_ms: float = 0.0
    fail_rate: float = 0.0
    hang_rate: float = 0.0
    drop_rate: float = 0.0
    hang_s: float = 30.0
    max_qps: float = 0.0
    caller_answer: float | None = None
    callee_answer: float | None = None
    ring_s: Span | None = None
    talk_s: Span | None = None
    time_scale: float = 1.0
    away_callers: tuple[str, ...] = ()
    callee_answer_by_ring: tuple[float, ...] = ()
    cdr_delay_ms: float = 0.0
    cdr_number_format: str = "plain"
    cdr_odd_rate: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            setattr(self, f.name, _PARSERS[f.name](getattr(self, f.name)))

    @property
    def timed(self) -> bool:
        """Whether calls take time (ring, talk) and a caller already in a call is busy."""
        return bool(self.away_callers or self.callee_answer_by_ring) or any(
            v is not None
            for v in (self.caller_answer, self.callee_answer, self.ring_s, self.talk_s)
        )

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply all changes or none; ValueError names the first bad key or value."""
        parsed = {}
        for key, value in changes.items():
            parser = _PARSERS.get(key)
            if parser is None:
                raise ValueError(f"unknown fault {key}")
            try:
                parsed[key] = parser(value)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{key}: {exc}") from None
        for key, value in parsed.items():
            setattr(self, key, value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; what it returns can be posted back to `update`."""
        return {
            f.name: str(v)
            if isinstance(v := getattr(self, f.name), Span)
            else list(v)
            if isinstance(v, tuple)
            else v
            for f in fields(self)
        }


def _number(minimum: float = 0.0, maximum: float | None = None) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        number = float(value)
        if number < minimum or (maximum is not None and number > maximum):
            bounds = f"[{minimum:g}, {maximum:g}]" if maximum is not None else f">= {minimum:g}"
            raise ValueError(f"expected a number in {bounds}, got {value!r}")
        return number

    return parse


def _optional(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None or value == "" else parse(value)


def _span(value: Any) -> Span:
    if isinstance(value, str):
        return Span.parse(value)
    low, high = value
    return Span.parse(f"{float(low)}-{float(high)}")


def _time_scale(value: Any) -> float:
    scale = _number()(value)
    if scale <= 0:
        raise ValueError(f"expected a number > 0, got {value!r}")
    return scale


def _number_format(value: Any) -> str:
    if value not in NUMBER_FORMATS:
        raise ValueError(f"expected one of {', '.join(NUMBER_FORMATS)}, got {value!r}")
    return str(value)


_rate = _number(0.0, 1.0)


def _items(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value or ())


def _callers(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in _items(value))


def _rates(value: Any) -> tuple[float, ...]:
    return tuple(_rate(v) for v in _items(value))


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "latency_ms": _number(),
    "fail_rate": _rate,
    "hang_rate": _rate,
    "drop_rate": _rate,
    "hang_s": _number(),
    "max_qps": _number(),
    "caller_answer": _optional(_rate),
    "callee_answer": _optional(_rate),
    "ring_s": _optional(_span),
    "talk_s": _optional(_span),
    "time_scale": _time_scale,
    "away_callers": _callers,
    "callee_answer_by_ring": _rates,
    "cdr_delay_ms": _number(),
    "cdr_number_format": _number_format,
    "cdr_odd_rate": _rate,
}
