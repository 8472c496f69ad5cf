"""Large OTLP files decoded by one process per core, each taking a contiguous part.

Decoding is Python (parse, envelope walk, convention mapping: tens of µs per span), so one
process uses one core while DuckDB's own reader uses them all. A file of JSON lines splits
at line boundaries and a Collector-framed protobuf file at message boundaries; each worker
decodes its part exactly as the whole file would be decoded (positions in errors and
skipped spans are numbered from the file's start), streams it to an Arrow IPC file, then
works out the fills of its part (`table.fill_patches`: per trace, from that trace's rows).
The parts are joined in file order; a trace with rows in several parts has its fills
worked out again from all of them, so the result is the table the single-process decode
makes, row for row. The joined table lives in memory maps of the parts' files (and of one
more with the filled columns), which the ingest releases as its rows reach the store. The
first error in file order is raised, as one process would raise it.
"""

from __future__ import annotations

import json
import mmap
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from ingest.canonical import SPAN_SCHEMA
from ingest.errors import DecodeError, LimitExceeded, UnsupportedFormat
from ingest.otlp.table import COL, PATCH_SCHEMA, fill_patches
from ingest.registry import Skipped
from ingest.source import Source

ERRORS = {cls.__name__: cls for cls in (DecodeError, LimitExceeded, UnsupportedFormat)}

MIN_PART_BYTES = 16 * 1024 * 1024
MAX_WORKERS = 4
SCAN_BLOCK = 8 * 1024 * 1024
FILL_WINDOW_ROWS = 65_536


@dataclass
class Part:
    start: int
    end: int
    first_record: int


class Joined(NamedTuple):
    """The parts joined in file order; `mapped` are the memory maps its buffers live in."""

    table: pa.Table
    skipped: list[Skipped]
    shapes: list[str]
    mapped: list[mmap.mmap]


@dataclass
class PartResult:
    skipped: list[Skipped] = field(default_factory=list)
    shapes: list[str] = field(default_factory=list)


def worker_count() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def worth_splitting(source: Source) -> bool:
    """A whole plain file on disk large enough that each core gets a part worth a process."""
    if not source.is_plain_file or source.byte_range:
        return False
    return worker_count() > 1 and source.size >= 2 * MIN_PART_BYTES


def line_parts(path: Path, parts: int) -> list[Part]:
    """`parts` contiguous byte ranges ending at line ends, each with its first line number."""
    size = path.stat().st_size
    cuts = [0]
    with path.open("rb") as handle:
        for k in range(1, parts):
            handle.seek(max(cuts[-1], size * k // parts - 1))
            handle.readline()  # to the end of the line the cut fell in (or just before it)
            cuts.append(min(handle.tell(), size))
    cuts.append(size)
    firsts, line = [1], 1
    with path.open("rb") as handle:  # lines before each part but the first (not in the last)
        for start, end in zip(cuts[:-2], cuts[1:-1], strict=True):
            left = end - start
            while left > 0:
                block = handle.read(min(SCAN_BLOCK, left))
                line += block.count(b"\n")
                left -= len(block)
            firsts.append(line)
    return [Part(s, e, f) for s, e, f in zip(cuts[:-1], cuts[1:], firsts, strict=True) if e > s]


def frame_parts(path: Path, parts: int) -> list[Part] | None:
    """Ranges of whole Collector frames (4-byte big-endian length + message), about equal in
    bytes; None when the lengths do not add up (the single-process reader then says where)."""
    size = path.stat().st_size
    starts, offset = [], 0
    with path.open("rb") as handle:
        while offset < size:
            prefix = handle.read(4)
            length = int.from_bytes(prefix, "big")
            if len(prefix) < 4 or offset + 4 + length > size:
                return None
            starts.append(offset)
            offset += 4 + length
            handle.seek(offset)
    result, index = [], 0
    for k in range(1, parts + 1):
        target = size * k // parts
        begin = index
        while index < len(starts) and (starts[index] < target or index == begin):
            index += 1
        if index > begin:
            end = starts[index] if index < len(starts) else size
            result.append(Part(starts[begin], end, begin + 1))
    return result


def decode_parts(source: Source, parts: list[Part], kind: str) -> Joined | None:
    """Decode every part in its own worker process (`python -m ingest.otlp.worker`) and join
    them in file order; the first part's error, in file order, is raised. None when a worker
    died without a word (killed, out of memory): the caller decodes in one process then."""
    with tempfile.TemporaryDirectory(prefix="agenttime-decode-") as folder:
        outputs = [f"{folder}/{i}.arrow" for i in range(len(parts))]
        workers = [
            _start(source, part, kind, out) for part, out in zip(parts, outputs, strict=True)
        ]
        replies = [_reply(worker, out) for worker, out in zip(workers, outputs, strict=True)]
        if any(reply is None for reply in replies):
            return None
        for reply in replies:
            if "error" in reply:
                error = reply["error"]
                raise ERRORS[error["class"]](error["filename"], error["detail"], error["position"])
        mapped, tables = zip(*(_mapped_table(out) for out in outputs), strict=True)
        patches = [_read_ipc(patches_path(out)) for out in outputs]
        filled, filled_mapped = _filled(tables, _join(tables), patches, folder)
    skipped = [Skipped(*entry) for reply in replies for entry in reply["skipped"]]
    shapes = list(dict.fromkeys(shape for reply in replies for shape in reply["shapes"]))
    maps = [*mapped] if filled_mapped is None else [*mapped, filled_mapped]
    return Joined(filled, skipped, shapes, maps)


def patches_path(ipc_path: str) -> str:
    return ipc_path + ".fills"


def write_part_patches(ipc_path: str) -> None:
    """In the worker, once its part is written: the fills of the part, as patches."""
    patches = fill_patches(_read_ipc(ipc_path))
    with pa.OSFile(patches_path(ipc_path), "wb") as sink, ipc.new_file(sink, PATCH_SCHEMA) as out:
        out.write_table(patches)


def _filled(
    parts: list[pa.Table], joined: pa.Table, patches: list[pa.Table], folder: str
) -> tuple[pa.Table, mmap.mmap | None]:
    """`joined` with the workers' fills applied, those of traces that have rows in several
    parts (each worker saw only its own) worked out again from all their rows.

    The filled columns are built a window of rows at a time into a file beside the parts
    and mapped back, like the parts: built in memory, they were copies of whole columns
    (the output text among them) held to the end of the ingest."""
    worker_patches = pa.concat_tables(patches)  # chunks of the mapped files: no copy
    shared, redone = _redone_shared_traces(parts, joined)
    names = [
        name
        for name in PATCH_SCHEMA.names
        if worker_patches.column(name).null_count < joined.num_rows
        or (redone is not None and redone.column(name).null_count < redone.num_rows)
    ]
    if not names:
        return joined, None
    path = f"{folder}/filled.arrow"
    schema = pa.schema([PATCH_SCHEMA.field(name) for name in names])
    with pa.OSFile(path, "wb") as sink, ipc.new_file(sink, schema) as out:
        done = 0  # rows of `redone` used so far
        for start in range(0, joined.num_rows, FILL_WINDOW_ROWS):
            window = (start, FILL_WINDOW_ROWS)
            shared_rows = shared.slice(*window).combine_chunks() if shared is not None else None
            taken = (pc.sum(shared_rows).as_py() or 0) if shared_rows is not None else 0
            columns = []
            for name in names:
                patch = worker_patches.column(name).slice(*window).combine_chunks()
                if taken:
                    again = redone.column(name).slice(done, taken).combine_chunks()
                    patch = pc.replace_with_mask(patch, shared_rows, again)
                recorded = joined.column(name).slice(*window).combine_chunks()
                columns.append(pc.coalesce(recorded, patch))
            out.write_batch(pa.record_batch(columns, schema=schema))
            done += taken
    mapped, filled = _mapped_table(path)
    for name in names:
        joined = joined.set_column(COL[name], name, filled.column(name))
    return joined, mapped


def _redone_shared_traces(
    parts: list[pa.Table], joined: pa.Table
) -> tuple[pa.ChunkedArray | None, pa.Table | None]:
    """Which rows of `joined` belong to traces found in several parts, and those rows' fills
    worked out from all of them (in row order); (None, None) when no trace crosses parts."""
    seen = pa.chunked_array([pc.unique(part.column("trace_id")) for part in parts], pa.string())
    counts = pc.value_counts(seen)
    crossing = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    if len(crossing) == 0:
        return None, None
    shared = pc.is_in(joined.column("trace_id"), value_set=crossing)
    return shared, fill_patches(joined.filter(shared))


def _start(source: Source, part: Part, kind: str, ipc_path: str) -> subprocess.Popen:
    """A fresh interpreter, not multiprocessing: nothing of the caller (a Streamlit script
    run as `__main__`, open stores) is imported or inherited into the worker. Its reply goes
    to a file beside its output, so no pipe can fill and stall it while others run."""
    spec = {
        "kind": kind, "path": str(source.path), "display_name": source.display_name,
        "max_bytes": source.max_bytes, "start": part.start, "end": part.end,
        "first_record": part.first_record, "ipc_path": ipc_path,
    }  # fmt: skip
    root = str(Path(__file__).resolve().parents[2])
    pythonpath = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    with open(ipc_path + ".reply", "wb") as reply:
        return subprocess.Popen(
            [sys.executable, "-m", "ingest.otlp.worker", json.dumps(spec)],
            stdout=reply,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": pythonpath},
        )


def _reply(worker: subprocess.Popen, ipc_path: str) -> dict | None:
    worker.wait()
    try:
        return json.loads(Path(ipc_path + ".reply").read_text().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def ipc_writer(path: str) -> Iterator[ipc.RecordBatchFileWriter]:
    """Where a worker streams its part's canonical batches."""
    with pa.OSFile(path, "wb") as sink, ipc.new_file(sink, SPAN_SCHEMA) as writer:
        yield writer


def _read_ipc(path: str) -> pa.Table:
    return ipc.open_file(pa.memory_map(path, "r")).read_all()  # mapped: no copy


def _mapped_table(path: str) -> tuple[mmap.mmap, pa.Table]:
    """An Arrow IPC file's table, its buffers in a map made by Python's mmap, not Arrow's,
    which offers no way to drop the pages once read (`registry.Decoded.release_pages`).
    The map outlives the file's deletion."""
    with open(path, "rb") as handle:
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    return mapped, ipc.open_file(pa.py_buffer(mapped)).read_all()


def _join(tables: list[pa.Table]) -> pa.Table:
    """Parts in order, `seq` renumbered to run on across them as in one file."""
    shifted, offset = [], 0
    for table in tables:
        if offset:
            seq = pc.add(table.column("seq"), pa.scalar(offset, pa.int64()))
            table = table.set_column(COL["seq"], "seq", seq)
        shifted.append(table)
        offset += table.num_rows
    return pa.concat_tables(shifted)
