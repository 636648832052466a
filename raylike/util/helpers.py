"""``ray.util.as_completed`` and ``ray.util.map_unordered``: results as they finish.

Both are thin loops over ``ray.wait``: each round waits for up to ``chunk_size`` refs and
yields their values (or the refs themselves, ``yield_obj_refs=True``); within a round the
values come in submission order, as ``ray.wait`` reports them.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

__all__ = ["as_completed", "map_unordered"]

DEFAULT_CHUNK_SIZE = 10
DEFAULT_BACKPRESSURE_SIZE = 100


def _check(chunk_size: int, wait_kwargs: dict[str, Any]) -> None:
    if chunk_size < 1:
        raise ValueError("`chunk_size` must be >= 1")
    if "num_returns" in wait_kwargs:
        raise ValueError("Use the `chunk_size` argument instead of `num_returns`.")


def _next_batch(refs: list[Any], chunk_size: int, yield_obj_refs: bool,
                wait_kwargs: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """One ``ray.wait`` round: (values or refs that are ready, refs still pending)."""
    import raylike as ray

    ready, pending = ray.wait(refs, num_returns=min(chunk_size, len(refs)), **wait_kwargs)
    return (ready if yield_obj_refs else ray.get(ready)), pending


def as_completed(refs: Sequence[Any], *, chunk_size: int = DEFAULT_CHUNK_SIZE,
                 yield_obj_refs: bool = False, **kwargs: Any) -> Iterator[Any]:
    """Yield the values of ``refs`` as they become ready, ``chunk_size`` at a time.

    Args:
        refs: the ``ObjectRef``s to wait for.
        chunk_size: how many ready refs each round waits for (``num_returns`` of ``ray.wait``).
        yield_obj_refs: yield the ready refs instead of their values.
        **kwargs: passed to ``ray.wait`` (``timeout``, ``fetch_local``).

    Raises:
        ValueError: ``chunk_size < 1``, or ``num_returns`` among ``kwargs`` (raised when the
            iteration starts, as in Ray). A failed task's error is raised when its value is
            reached.
    """
    _check(chunk_size, kwargs)
    pending = list(refs)
    while pending:
        done, pending = _next_batch(pending, chunk_size, yield_obj_refs, kwargs)
        yield from done


def map_unordered(fn: Any, items: Iterable[Any], *,
                  backpressure_size: int | None = DEFAULT_BACKPRESSURE_SIZE,
                  chunk_size: int = DEFAULT_CHUNK_SIZE, yield_obj_refs: bool = False,
                  **kwargs: Any) -> Iterator[Any]:
    """``fn.remote(item)`` for each item, yielding the results as they finish.

    At most ``backpressure_size`` calls are in flight (``None``: no limit); once that many are
    pending, the next ``chunk_size`` results are waited for and yielded before more is
    submitted.

    Args:
        fn: a remote function (anything with ``.remote(item)`` returning an ``ObjectRef``).
        items: the arguments, one call each.
        backpressure_size: the most calls in flight at once, or ``None``.
        chunk_size: how many ready results each wait collects.
        yield_obj_refs: yield the refs instead of the values.
        **kwargs: passed to ``ray.wait``.

    Raises:
        ValueError: ``backpressure_size <= 0``, ``chunk_size < 1`` or ``num_returns`` among
            ``kwargs`` (when the iteration starts).
    """
    limit = float("inf") if backpressure_size is None else backpressure_size
    if limit <= 0:
        raise ValueError("backpressure_size must be positive.")
    _check(chunk_size, kwargs)
    pending: list[Any] = []
    for item in items:
        pending.append(fn.remote(item))
        if len(pending) >= limit:
            done, pending = _next_batch(pending, chunk_size, yield_obj_refs, kwargs)
            yield from done
    yield from as_completed(pending, chunk_size=chunk_size, yield_obj_refs=yield_obj_refs,
                            **kwargs)
