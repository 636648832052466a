"""The text of Ray's memory report (``ray memory``, ``internal_api.memory_summary``): a table of
every process's object references, grouped by node address or by call site, each group with
its summary, then the object store's figures. The layout is Ray's (programs and tests read
it); the rows come from ``raylike._api.memory`` in every process."""
from __future__ import annotations

import shutil
from typing import Any

__all__ = ["reference_type", "store_summary", "summary"]

GROUPS = {"NODE_ADDRESS": "node address", "STACK_TRACE": "stack trace"}
SORTS = {"PID": "pid", "OBJECT_SIZE": "object size", "REFERENCE_TYPE": "reference type"}
UNITS = {"B": 1, "KB": 10 ** 3, "MB": 10 ** 6, "GB": 10 ** 9}
TYPES = ("LOCAL_REFERENCE", "PINNED_IN_MEMORY", "USED_BY_PENDING_TASK", "CAPTURED_IN_OBJECT",
         "ACTOR_HANDLE")
_SUMMARY_LABELS = ("Mem Used by Objects", "Local References", "Pinned", "Used by task",
                   "Captured in Objects", "Actor Handles")
_SUMMARY_ROW = "{:<19}  {:<16}  {:<12}  {:<13}  {:<19}  {:<13}\n"
_LABELS = ("IP Address", "PID", "Type", "Call Site", "Status", "Attempt", "Size",
           "Reference Type", "Object Ref")
_NARROW = "{:<13} | {:<8} | {:<7} | {:<9} | {:<9} | {:<8} | {:<8} | {:<14} | {:<10}\n"
_WIDE = "{:<15}  {:<5}  {:<6}  {:<22}  {:<14}  {:<8}  {:<6}  {:<18}  {:<56}\n"
_WIDE_FROM = 137  # terminal columns from which the wide layout is used (Ray's threshold)
_SITE_WIDTH, _STATUS_WIDTH = 22, 12  # wrapped at these widths in the wide layout
SITES_HINT = ("To record callsite information for each ObjectRef created, set env variable "
              "RAY_record_ref_creation_sites=1\n\n")


def reference_type(row: dict[str, Any]) -> str | None:
    """Ray's reference type of a row, or None if the process no longer refers to it."""
    if row.get("actor"):
        return "ACTOR_HANDLE" if row["local"] > 0 else None
    if row["pinned"]:
        return "PINNED_IN_MEMORY"
    if row["submitted"] > 0:
        return "USED_BY_PENDING_TASK"
    if row["local"] > 0:
        return "LOCAL_REFERENCE"
    if row["contained_in_owned"]:
        return "CAPTURED_IN_OBJECT"
    return None


def _choice(value: str, table: dict[str, str], what: str) -> str:
    key = str(value).upper()
    if key not in table:
        raise ValueError(f"The {what} input provided is not one of {', '.join(table)}.")
    return key


def _entries(processes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for process in processes:
        for row in process["rows"]:
            kind = reference_type(row)
            if kind is None:
                continue
            status = row.get("status") or "NIL"
            found.append({"ip": process["ip"], "pid": process["pid"], "type": process["type"],
                          "call_site": row.get("call_site") or "disabled",
                          "status": "-" if status == "NIL" else status, "attempt": 1,
                          "size": int(row.get("size", -1)), "kind": kind,
                          "object_ref": row["object_id"]})
    return found


def _group_summary(entries: list[dict[str, Any]], unit: str) -> list[str]:
    scale = UNITS[unit]
    counts = dict.fromkeys(TYPES, 0)
    sizes = dict.fromkeys(TYPES, 0)
    for entry in entries:
        counts[entry["kind"]] += 1
        sizes[entry["kind"]] += max(entry["size"], 0)
    total = sum(max(e["size"], 0) for e in entries)
    order = ("LOCAL_REFERENCE", "PINNED_IN_MEMORY", "USED_BY_PENDING_TASK",
             "CAPTURED_IN_OBJECT", "ACTOR_HANDLE")
    return [f"{total / scale} {unit}"] + [f"{counts[k]}, ({sizes[k] / scale} {unit})"
                                          for k in order]


def _entry_lines(entry: dict[str, Any], unit: str, wide: bool) -> str:
    size = f"{entry['size'] / UNITS[unit]} {unit}" if entry["size"] > -1 else "?"
    site, status = entry["call_site"], entry["status"]
    columns: list[list[Any]] = [[entry["ip"]], [entry["pid"]], [entry["type"]], [site],
                                [status], [entry["attempt"]], [size], [entry["kind"]],
                                [entry["object_ref"]]]
    if wide:
        columns[3] = [site[i:i + _SITE_WIDTH] for i in range(0, len(site), _SITE_WIDTH)]
        columns[4] = [status[i:i + _STATUS_WIDTH]
                      for i in range(0, len(status), _STATUS_WIDTH)]
    lines = max(len(c) for c in columns)
    layout = _WIDE if wide else _NARROW
    text = "" if wide else "\n"
    for i in range(lines):
        text += layout.format(*[c[i] if i < len(c) else "" for c in columns])
    return text + "\n"


def summary(report: dict[str, Any], group_by: str = "NODE_ADDRESS",
            sort_by: str = "OBJECT_SIZE", line_wrap: bool = True, unit: str = "B",
            num_entries: int | None = None) -> str:
    """The table of references of ``report`` (``raylike._dask.scheduler.memory``)."""
    group_key = _choice(group_by, GROUPS, "group-by")
    sort_key = _choice(sort_by, SORTS, "sort-by")
    if unit not in UNITS:
        raise ValueError(f"The units input provided is not one of {', '.join(UNITS)}.")
    entries = _entries(report["processes"])
    entries.sort(key={"PID": lambda e: e["pid"], "OBJECT_SIZE": lambda e: e["size"],
                      "REFERENCE_TYPE": lambda e: e["kind"]}[sort_key])
    groups: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        groups.setdefault(entry["ip"] if group_key == "NODE_ADDRESS" else entry["call_site"],
                          []).append(entry)
    group_name, sort_name = GROUPS[group_key], SORTS[sort_key]
    wide = line_wrap and shutil.get_terminal_size((80, 20)).columns > _WIDE_FROM
    shown = num_entries if num_entries is not None else "all"
    text = (f"Grouping by {group_name}...        Sorting by {sort_name}...        "
            f"Display {shown} entries per group...\n\n\n")
    for key, members in groups.items():
        text += f"--- Summary for {group_name}: {key} ---\n"
        text += _SUMMARY_ROW.format(*_SUMMARY_LABELS)
        text += _SUMMARY_ROW.format(*_group_summary(members, unit)) + "\n"
        text += f"--- Object references for {group_name}: {key} ---\n"
        text += (_WIDE if wide else _NARROW).format(*_LABELS)
        for entry in members[:num_entries] if num_entries is not None else members:
            text += _entry_lines(entry, unit, wide)
    return text + SITES_HINT


def store_summary(report: dict[str, Any]) -> str:
    """The object store's figures: what the workers hold, against their memory limits."""
    store = report["store"]
    used, available = store["used"], store["available"] or 0
    full = round(100 * used / available, 2) if available else 0.0
    return ("--- Aggregate object store stats across all nodes ---\n"
            f"Plasma memory usage {int(used / (1024 * 1024))} MiB, {store['objects']} "
            f"objects, {full}% full, {full}% needed\n")
