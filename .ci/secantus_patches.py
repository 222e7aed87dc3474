"""Fixes two bugs of SecantusDB 0.7.0b3 (the emulator, not our code) in the installed package,
before the MongoDB conformance suite runs against it. Idempotent; fails loudly when the code to
patch is not there (another SecantusDB version: check whether the bugs are still present).

1. `$bit` on an int64 field stores an int32; mongod keeps a long when either operand is one.
   Our occupancy bitmaps are arrays of longs (and the validator says so), so every claim failed
   validation (code 121).
2. An index range scan with an inclusive upper bound on a compound index whose bounded field is
   followed by others (e.g. `{user_id, created_at: -1, _id: -1}`) drops the rows equal to the
   bound. mongod returns them.
"""

import pathlib
import sys

import secantus

ROOT = pathlib.Path(secantus.__file__).parent

PATCHES = [
    (
        "update.py",
        """                        current = current ^ mask
                _set_path(doc, concrete, current)""",
        """                        current = current ^ mask
                # (ipam CI patch) mongod keeps a long when either operand is a long.
                from bson.int64 import Int64 as _Int64
                _before = get_path(doc, concrete, default=0) if has_path(doc, concrete) else 0
                if isinstance(_before, _Int64) or any(isinstance(m, _Int64) for _, m in parsed_ops):
                    current = _Int64(current)
                _set_path(doc, concrete, current)""",
    ),
    (
        "storage.py",
        """                if upper_inclusive:
                    if row_esc > esc_upper:
                        break""",
        """                if upper_inclusive:
                    # (ipam CI patch) a row equal to the bound, followed by more key fields, is inside.
                    if row_esc > esc_upper and not row_esc.startswith(esc_upper + _escape_kb(COMPOUND_SEP)):
                        break""",
    ),
]

for name, old, new in PATCHES:
    path = ROOT / name
    text = path.read_text()
    if new in text:
        continue
    if text.count(old) != 1:
        sys.exit(f"secantus/{name}: the code to patch was not found (SecantusDB version changed?)")
    path.write_text(text.replace(old, new))
    print(f"patched secantus/{name}")
