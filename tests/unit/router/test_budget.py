"""Every hostile mail of issue 10 stays within its budget in the router, enforced by the kernel.

Each case runs in a child process (`tests.unit.router.hostile`) with RLIMIT_CPU
and RLIMIT_AS set to what it already uses plus the budget: up to 25 MB, 2 s of
CPU and 256 MB; up to 50 MB, 4 s and 512 MB. A case over it is killed (SIGXCPU)
or runs out of memory, and fails here; within it, it must end in exactly one
outcome (over a limit: `malformed` naming the limit, and a dead letter).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.router.helpers import raw_event
from tests.unit.router.hostile import CASES, RAISED, budget_for

ROOT = Path(__file__).parents[3]
DEFAULT_LIMIT_HIT = {
    "subject_1mb_encoded_words": "header_block_bytes",
    "from_name_220kb_encoded": "header_decoded_chars",
    "to_10000_encoded_names": "header_block_bytes",
    "headers_10mb": "header_block_bytes",
    "parts_100000": "parts_per_mail",
    "nesting_1000": "multipart_depth",
}
# Outlook winmail.dat: unpacked, or kept packed with a note naming the limit; never malformed.
TNEF_NOTE = {
    "tnef_18mb_in_9_files": "",
    "tnef_attribute_bomb_18mb": "(tnef_copy_bytes)",
    "tnef_nested_2000": "nested over 2 deep",
    "tnef_mapi_count_bomb": "claims 4294967295 properties",
}
# With the limits raised these reach the linear header decoders instead.
DECODER_CASES = [
    "subject_1mb_encoded_words",
    "from_name_220kb_encoded",
    "to_10000_encoded_names",
    "headers_10mb",
]


def route_in_child(tmp_path: Path, data: bytes, limits: dict | None = None) -> dict:
    value = tmp_path / "value.json"
    value.write_bytes(raw_event(data).model_dump_json().encode())
    cpu, extra_mb = budget_for(len(data))
    args = [sys.executable, "-m", "tests.unit.router.hostile", str(value), str(cpu), str(extra_mb)]
    proc = subprocess.run(
        [*args, json.dumps(limits or {})], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, (
        f"over budget or crashed ({proc.returncode}): {proc.stderr[-2000:]}"
    )
    result = json.loads(proc.stdout)
    print(f"\n{len(data) / 2**20:.1f} MB: {result}")
    assert result["cpu_s"] <= cpu and result["extra_mb"] <= extra_mb
    assert len(result["outcomes"]) == 1
    return result


# The set always; four more 50 MB shapes under make fuzz (about 3 s each).
RUN = sorted(
    n for n, (_, extra) in CASES.items() if not extra or os.environ.get("ROUTER_HOSTILE_ALL")
)


@pytest.mark.parametrize("name", RUN)
def test_hostile_mail_within_budget(name: str, tmp_path: Path) -> None:
    result = route_in_child(tmp_path, CASES[name][0]())
    decision, reason = result["outcomes"][0]
    if name in DEFAULT_LIMIT_HIT:
        assert decision == "malformed" and DEFAULT_LIMIT_HIT[name] in reason
        assert result["topics"] == ["dead", "outcomes"]
    else:  # 50 MB within every limit: an ordinary ticket, the body kept as an attachment
        assert decision == "ticket_opened"
    if name in TNEF_NOTE:
        [(text, files)] = result["ticket"]
        if TNEF_NOTE[name]:
            assert files == ["winmail.dat"] and TNEF_NOTE[name] in text
        else:
            assert files == [f"scan{i}.pdf" for i in range(9)] and "Supportdesk" not in text


@pytest.mark.parametrize("name", DECODER_CASES)
def test_header_decoders_are_linear(name: str, tmp_path: Path) -> None:
    """Limits raised out of the way: decoding the header itself stays within the budget."""
    result = route_in_child(tmp_path, CASES[name][0](), RAISED)
    assert result["outcomes"][0][0] == "ticket_opened"
