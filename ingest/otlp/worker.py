"""One part of a large OTLP file, decoded in its own process: `python -m ingest.otlp.worker SPEC`.

Started by `ingest.otlp.parallel` with a JSON spec (file, byte range, first line or message
number, where to write); writes the part's canonical rows as Arrow IPC and prints one JSON
line: the skipped spans and shapes seen, or the ingest error that stopped it.
"""

from __future__ import annotations

import json
import sys

from ingest.without_pandas import keep_pandas_out

keep_pandas_out()  # before pyarrow's first conversion

from ingest.errors import IngestError  # noqa: E402
from ingest.otlp.adapter import decode_json_part, decode_protobuf_part  # noqa: E402
from ingest.source import Source  # noqa: E402

DECODERS = {"json": decode_json_part, "protobuf": decode_protobuf_part}


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    whole = Source.open(spec["path"], spec["display_name"], spec["max_bytes"])
    part = whole.part(spec["start"], spec["end"], spec["first_record"])
    try:
        result = DECODERS[spec["kind"]](part, spec["ipc_path"])
    except IngestError as exc:
        error = {"class": type(exc).__name__, "filename": exc.filename, "detail": exc.detail, "position": exc.position}  # fmt: skip
        print(json.dumps({"error": error}))
        return 0
    print(
        json.dumps(
            {"skipped": [[s.position, s.reason] for s in result.skipped], "shapes": result.shapes}
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
