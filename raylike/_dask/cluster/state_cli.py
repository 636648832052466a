"""``raylike list`` and ``raylike summary``: the state API on the command line, printed as
Ray's ``ray list`` / ``ray summary`` print it (a stats block, then a table), or as JSON or
YAML; and the demands block of ``raylike status``."""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from typing import Any

RESOURCES = ("actors", "tasks", "objects", "nodes", "workers", "placement-groups")
SUMMARIES = ("tasks", "actors", "objects")


def add_commands(sub: Any) -> None:
    """Add ``list``, ``summary`` and ``memory`` to the ``raylike`` parser's subcommands."""
    listing = sub.add_parser("list", help="list tasks, actors, objects, nodes, workers or "
                             "placement groups (as `ray list`)")
    listing.add_argument("resource", choices=RESOURCES)
    listing.add_argument("--address", help="scheduler address (default: as `raylike status`)")
    listing.add_argument("--filter", "-f", action="append", default=[], metavar="KEY=VALUE",
                         help="keep rows where KEY=VALUE (or KEY!=VALUE); repeat to AND")
    listing.add_argument("--limit", type=int, default=100, help="rows at most (default 100)")
    listing.add_argument("--detail", action="store_true", help="every column")
    listing.add_argument("--format", choices=("default", "table", "json", "yaml"),
                         default="default", help="output format (default: a table)")
    listing.set_defaults(func=_list)
    summary = sub.add_parser("summary", help="count tasks, actors or objects by name and "
                             "state (as `ray summary`)")
    summary.add_argument("resource", choices=SUMMARIES)
    summary.add_argument("--address", help="scheduler address (default: as `raylike status`)")
    summary.set_defaults(func=_summary)
    memory = sub.add_parser("memory", help="the object references of every process (as "
                            "`ray memory`)")
    memory.add_argument("--address", help="scheduler address (default: as `raylike status`)")
    memory.add_argument("--group-by", default="NODE_ADDRESS",
                        choices=("NODE_ADDRESS", "STACK_TRACE"), help="group rows by")
    memory.add_argument("--sort-by", default="OBJECT_SIZE",
                        choices=("PID", "OBJECT_SIZE", "REFERENCE_TYPE"), help="sort rows by")
    memory.add_argument("--units", default="B", choices=("B", "KB", "MB", "GB"))
    memory.add_argument("--no-format", action="store_true", help="no wrapping of long cells")
    memory.add_argument("--stats-only", action="store_true", help="the store's figures only")
    memory.add_argument("--num-entries", type=int, help="rows per group at most")
    memory.set_defaults(func=_memory)


def cluster_address(given: str | None) -> str | None:
    """``--address``, else the cluster ``raylike start`` started, else ``RAY_ADDRESS``, else
    ``DASK_SCHEDULER_ADDRESS``; with a ``tcp://`` scheme where none is given."""
    from raylike._dask.cluster.cli import _load_state

    address = (given or _load_state().get("address") or os.environ.get("RAY_ADDRESS")
               or os.environ.get("DASK_SCHEDULER_ADDRESS"))
    if not address:
        return None
    return address if "://" in address else f"tcp://{address}"


def _no_address() -> int:
    print("raylike: no cluster address: start a cluster with `raylike start --head`, or "
          "pass --address (or set RAY_ADDRESS).", file=sys.stderr)
    return 1


def parse_filter(text: str) -> tuple[str, str, str]:
    """``"k=v"`` -> ``("k", "=", "v")``; ``"k!=v"`` -> ``("k", "!=", "v")``."""
    if "!=" in text:
        key, value = text.split("!=", 1)
        return key.strip(), "!=", value.strip()
    if "=" not in text:
        raise ValueError(f"Invalid filter `{text}`: write key=value or key!=value")
    key, value = text.split("=", 1)
    return key.strip(), "=", value.strip()


def _list(args: argparse.Namespace) -> int:
    from raylike.util.state import api

    address = cluster_address(args.address)
    if address is None:
        return _no_address()
    lister = getattr(api, f"list_{args.resource.replace('-', '_')}")
    try:
        rows = lister(address=address, filters=[parse_filter(f) for f in args.filter],
                      limit=args.limit, detail=args.detail, raise_on_missing_output=False)
    except Exception as exc:  # a bad filter, or no cluster there: one line, no traceback
        print(f"raylike list: {exc}", file=sys.stderr)
        return 1
    dicts = [row.asdict() for row in rows]
    print(_formatted(dicts, args.format, args.detail, type(rows[0]) if rows else None))
    return 0


def _formatted(rows: list[dict[str, Any]], fmt: str, detail: bool, schema: Any) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=4, default=str)
    if fmt == "yaml" or (detail and fmt == "default"):  # Ray prints details as YAML
        return _yaml(rows)
    columns = schema.list_columns(detail=detail) if schema is not None else []
    return "\n".join([_banner("List"), "Stats:", "-" * 30, f"Total: {len(rows)}", "",
                      "Table:", "-" * 30,
                      _table([[str(i)] + [_cell(r.get(c)) for c in columns]
                              for i, r in enumerate(rows)],
                             [""] + [c.upper() for c in columns])])


def _summary(args: argparse.Namespace) -> int:
    from raylike.util.state import api

    address = cluster_address(args.address)
    if address is None:
        return _no_address()
    try:
        result = getattr(api, f"summarize_{args.resource}")(
            address=address, raise_on_missing_output=False)["cluster"]
    except Exception as exc:
        print(f"raylike summary: {exc}", file=sys.stderr)
        return 1
    stats = [f"{k}: {v}" for k, v in sorted(result.items())
             if k not in ("summary", "summary_by")]
    entries = result["summary"]
    columns = sorted({c for entry in entries.values() for c in entry})
    table = _table([[key] + [_cell(entry.get(c)) for c in columns]
                    for key, entry in entries.items()],
                   ["KEY"] + [c.upper() for c in columns])
    print("\n".join([_banner(f"{args.resource.capitalize()} Summary"), "Stats:", "-" * 36,
                     *stats, "", f"Table (group by {result['summary_by']}):", "-" * 36,
                     table]))
    return 0


def _memory(args: argparse.Namespace) -> int:
    """``ray memory``: the memory report (``raylike._api.memory_text``) of the cluster."""
    from distributed import Client

    from raylike._api import memory_text as _text
    from raylike._dask.scheduler.state import STATE_PLUGIN, StatePlugin

    address = cluster_address(args.address)
    if address is None:
        return _no_address()
    try:
        with Client(address, timeout="10s", set_as_default=False) as client:
            client.register_plugin(StatePlugin(), name=STATE_PLUGIN)
            report = client.sync(client.scheduler.raylike_state, kind="memory", timeout=30.0)
    except Exception as exc:  # no cluster there: one line, no traceback
        print(f"raylike memory: {exc}", file=sys.stderr)
        return 1
    text = "" if args.stats_only else _text.summary(
        report, args.group_by, args.sort_by, not args.no_format, args.units, args.num_entries)
    print(text + _text.store_summary(report))
    return 0


def demands(client: Any) -> dict[str, dict[str, int]]:
    """The resource shapes tasks wait for, from the state plugin (registered if missing);
    empty where the scheduler cannot say."""
    from raylike._dask.scheduler.state import STATE_PLUGIN, StatePlugin

    try:
        client.register_plugin(StatePlugin(), name=STATE_PLUGIN)
        answer = client.sync(client.scheduler.raylike_state, kind="demands", timeout=10.0)
        return dict(answer["result"])
    except Exception:  # an old scheduler: the rest of the status is still worth showing
        return {}


def demand_lines(demands: dict[str, dict[str, int]]) -> list[str]:
    """``ray status``'s ``Demands:`` block of the state plugin's ``demands`` answer."""
    lines = ["Demands:"]
    grouped = demands.get("grouped", {})
    lines += [f" {shape}: {count}+ pending tasks/actors" + (
              f" ({grouped[shape]}+ using placement groups)" if grouped.get(shape) else "")
              for shape, count in sorted(demands.get("pending", {}).items())]
    lines += [f" {shape}: {count}+ pending tasks/actors (infeasible: no node has these "
              "resources)" for shape, count in sorted(demands.get("infeasible", {}).items())]
    return lines if len(lines) > 1 else lines + [" (no resource demands)"]


def _banner(what: str) -> str:
    return f"======== {what}: {datetime.datetime.now():%Y-%m-%d %H:%M:%S.%f} ========"


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return "\n".join(f"{k}: {v}" for k, v in value.items()) or "{}"
    return "" if value is None else str(value)


def _table(rows: list[list[str]], header: list[str]) -> str:
    """Columns padded to their widest cell (a cell's extra lines go on lines of their own)."""
    expanded: list[list[str]] = []
    for row in rows:
        parts = [cell.split("\n") for cell in row]
        for i in range(max((len(p) for p in parts), default=1)):
            expanded.append([p[i] if i < len(p) else "" for p in parts])
    widths = [max([len(header[c])] + [len(r[c]) for r in expanded]) for c in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip()
                     for line in [header] + expanded)


def _yaml(rows: list[dict[str, Any]]) -> str:
    try:
        import yaml

        return str(yaml.safe_dump(rows, sort_keys=False, default_flow_style=False))
    except ImportError:  # PyYAML is not installed: JSON is YAML too
        return json.dumps(rows, indent=2, default=str)
