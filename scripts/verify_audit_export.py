#!/usr/bin/env python3
"""Check an exported segment of the Sharing Registry audit log offline. Needs Python 3.11+ and `cryptography`.

    python scripts/verify_audit_export.py EXPORT.jsonl --checkpoints CHECKPOINTS.json --public-key KEY \
        [--witness AUDIT_WITNESS_DIR]

EXPORT.jsonl is `GET /api/v1/audit/export/?format=jsonl`; CHECKPOINTS.json is `GET /api/v1/audit/checkpoints/`
(a page, a list, or JSON Lines; give the option more than once for several pages); KEY is the `public_key`
(base64) from `GET /api/v1/audit/public-key/`, a PEM file, or that endpoint's JSON saved to a file.

It checks that every event's hash covers its content, that events at consecutive positions link (and, unless
--filtered, that no position is missing), that every checkpoint is signed by the key and covers the one before it,
and that the chain meets each checkpoint inside the segment. With --witness (a copy of AUDIT_WITNESS_DIR, or one of
its files), the server's checkpoints must also hold every witnessed checkpoint and extend the latest, and an
unfiltered export must start at position 1. Exit 0 with
`OK <n> events`, else 1 naming the first bad seq and position. The algorithm is in docs/audit.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import json
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def _load_canonical():
    """audit/canonical.py, the one definition of the hashed bytes (standard library only), loaded by path: from
    the repository this script sits in, or from a copy kept next to the script."""
    here = Path(__file__).resolve().parent
    for path in (here / "canonical.py", here.parent / "audit" / "canonical.py"):
        if path.is_file():
            spec = importlib.util.spec_from_file_location("sr_audit_canonical", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    raise SystemExit("audit/canonical.py not found: run this script from the repository, or copy that file next "
                     "to it")


canonical = _load_canonical()
GENESIS_HASH = canonical.GENESIS_HASH
link_hash = canonical.link_hash


def canonical_bytes(event: dict) -> bytes:
    return canonical.canonical_bytes(
        event["seq"], event["at"], event["actor_id"], event["actor"], event["agency_id"], event["agency"],
        event["action"], event["object_type"], event["object_ref"], event["detail"], event["request_id"],
        event["client_ip"], event.get("agencies") or None,
    )


def checkpoint_message(cp: dict) -> bytes:
    return canonical.checkpoint_message_of(cp)


def checkpoint_hash(cp: dict) -> str:
    return canonical.checkpoint_hash(checkpoint_message(cp))


def key_id_for(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_key(value: str) -> Ed25519PublicKey:
    path = Path(value)
    text = path.read_text() if path.exists() else value
    text = text.strip()
    if text.startswith("{"):
        text = json.loads(text)["public_key"]
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise SystemExit("the public key is not an Ed25519 key")
        return key
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


def load_checkpoints(paths: list[str]) -> list[dict]:
    checkpoints: list[dict] = []
    for name in paths:
        text = Path(name).read_text().strip()
        if not text:
            continue
        if text.startswith("{") and "\n{" in text:  # JSON Lines
            checkpoints.extend(json.loads(line) for line in text.splitlines() if line.strip())
            continue
        data = json.loads(text)
        checkpoints.extend(data["results"] if isinstance(data, dict) else data)
    return sorted(checkpoints, key=lambda cp: cp["position"])


def load_witness(paths: list[str]) -> list[dict]:
    """Witnessed checkpoints from AUDIT_WITNESS_DIR (a directory of checkpoints-*.jsonl) or single files."""
    entries: list[dict] = []
    for name in paths:
        path = Path(name)
        files = sorted(path.glob("checkpoints-*.jsonl")) if path.is_dir() else [path]
        for file in files:
            lines = file.read_text().split("\n")
            for index, line in enumerate(lines):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                    if not isinstance(entry, dict) or "position" not in entry:
                        raise ValueError
                    entries.append(entry)
                except ValueError:
                    # Skipped only when a writer that died left it: the last line (no newline after it), or a line
                    # the next write followed with an empty line (as audit/witness.py append does).
                    if index == len(lines) - 1 or (index + 2 < len(lines) and lines[index + 1] == ""):
                        continue
                    raise Bad(None, f"the witness {file} is damaged: line {index + 1} is not a witnessed "
                                    "checkpoint") from None
    return sorted(entries, key=lambda e: e["position"])


class Bad(Exception):
    """What failed, where. Not `exact` when `position` only starts the range the fault lies in."""

    def __init__(self, seq, message: str, position=None, exact: bool = True):
        super().__init__(message)
        self.seq, self.message, self.position, self.exact = seq, message, position, exact


def verify(export_path: str, checkpoints: list[dict], public_key: Ed25519PublicKey, *,
           filtered: bool = False, witnessed: list[dict] | None = None) -> tuple[int, list[str]]:
    chain: list[tuple[int, int, str, str]] = []  # (position, seq, prev_hash, hash)
    try:
        return _verify(export_path, checkpoints, public_key, chain, filtered=filtered, witnessed=witnessed)
    except Bad as bad:
        if bad.exact or filtered or not witnessed or bad.position is None:
            raise
        raise pinpoint(bad, chain, checkpoints, witnessed) from None


def pinpoint(bad: Bad, chain: list[tuple[int, int, str, str]], checkpoints: list[dict],
             witnessed: list[dict]) -> Bad:
    """Narrow a range failure to the first position that disagrees with the witness, as verify_audit does: the
    chain's hashes (each already checked against its event's content and the hash before it) against the digests
    the witnessed checkpoints list, then the witnessed checkpoints against the server's."""
    hashes = {position: digest for position, _, _, digest in chain}
    seqs = {position: seq for position, seq, _, _ in chain}
    anchor = next((e for e in reversed(witnessed) if e["position"] < bad.position
                   and hashes.get(e["position"]) == e["head_hash"]), None)
    after = anchor["position"] if anchor else 0
    entries = [e for e in witnessed if e["position"] > after]
    known = canonical.witnessed_digests(entries, after)
    reached = after
    if known:
        reached = max(known)
        found = canonical.first_disagreement(known, ((p, h) for p, _, _, h in chain if p > after), after)
        if found is not None:
            position, why = found
            cover = next(e for e in entries if e["position"] >= position)
            if why == "missing":
                return Bad(seqs.get(position), f"position {position} is missing: the witness holds the checkpoint at "
                                               f"position {cover['position']} but the chain ends before it", position)
            return Bad(seqs.get(position), f"position {position} (seq {seqs.get(position)}) is not the event the "
                                           "witness holds there (covered by the checkpoint witnessed at position "
                                           f"{cover['position']}): an event was altered, removed, inserted or "
                                           "moved, and the chain re-hashed from there", position)
    held = {(cp["position"], checkpoint_hash(cp)) for cp in checkpoints}
    entry = canonical.first_unheld(entries, reached, held)
    if entry is not None:
        return Bad(entry["head_seq"], f"the server's checkpoints do not hold the checkpoint witnessed at position "
                                      f"{entry['position']}: checkpoints were deleted or rewritten; the events up "
                                      "to it still agree with the witness", entry["position"])
    return bad


def _verify(export_path: str, checkpoints: list[dict], public_key: Ed25519PublicKey,
            chain: list[tuple[int, int, str, str]], *, filtered: bool,
            witnessed: list[dict] | None) -> tuple[int, list[str]]:
    notes: list[str] = []
    key_id = key_id_for(public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    # 1. Each event: its hash covers its content and its prev_hash. Keep only the small chain tuple in memory.
    unsealed = 0
    with open(export_path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            event = json.loads(line)
            if event.get("hash") is None:
                unsealed += 1
                continue
            if link_hash(event["prev_hash"], canonical_bytes(event)) != event["hash"]:
                raise Bad(event["seq"], f"line {number}: seq {event['seq']} does not match its hash",
                          event.get("position"))
            chain.append((event["position"], event["seq"], event["prev_hash"], event["hash"]))
    chain.sort()
    # 2. Links between events at consecutive positions.
    by_position = {}
    runs = 0
    for index, (position, seq, prev_hash, digest) in enumerate(chain):
        if index and chain[index - 1][0] == position:
            raise Bad(seq, f"position {position} appears twice")
        if index and chain[index - 1][0] == position - 1:
            if prev_hash != chain[index - 1][3]:
                raise Bad(seq, f"seq {seq} does not follow the event before it (position {position - 1})")
        else:
            if index and not filtered:
                raise Bad(seq, f"positions {chain[index - 1][0] + 1}..{position - 1} are missing before seq {seq} "
                               "(if the export was filtered, pass --filtered)")
            runs += 1
            if position == 1 and prev_hash != GENESIS_HASH:
                raise Bad(seq, "the first event of the chain does not start from the genesis hash")
        by_position[position] = (seq, digest)
    # 3. Checkpoints: signed by the key, each covering the one before it, and met by the chain wherever the
    #    segment covers them.
    def seq_at(position):
        return by_position.get(position, (None,))[0]

    anchored = 0
    previous = None
    for cp in checkpoints:
        if cp["key_id"] != key_id:
            raise Bad(cp["head_seq"], f"checkpoint at position {cp['position']} is signed by another key "
                                      f"({cp['key_id']})", cp["position"])
        try:
            public_key.verify(bytes.fromhex(cp["signature"]), checkpoint_message(cp))
        except (InvalidSignature, ValueError):
            raise Bad(cp["head_seq"], f"checkpoint at position {cp['position']} has a bad signature",
                      cp["position"]) from None
        if cp.get("prev_hash") and previous is not None and (cp["prev_position"], cp["prev_hash"]) != (
                previous["position"], checkpoint_hash(previous)):
            first = previous["position"] + 1
            raise Bad(seq_at(first), f"the checkpoint at position {cp['position']} does not follow the checkpoint "
                                     f"before it (position {previous['position']}): checkpoints were deleted or "
                                     "rewritten", first, exact=False)
        previous = cp
        if cp["position"] in by_position:
            seq, digest = by_position[cp["position"]]
            if (seq, digest) != (cp["head_seq"], cp["head_hash"]):
                raise Bad(seq, f"the chain does not meet the signed checkpoint at position {cp['position']}",
                          cp["position"], exact=False)
            anchored = max(anchored, cp["position"])
    # 4. The witness: every witnessed checkpoint is among the server's, and the export's chain meets it.
    if witnessed:
        # Unfiltered, the export is the whole log: it must start at position 1 (from the genesis hash, checked
        # above), or the oldest events were deleted, seals and all.
        if not filtered and (not chain or chain[0][0] != 1):
            last = chain[0][0] - 1 if chain else witnessed[-1]["position"]
            raise Bad(None, f"position 1 is missing: the export starts at position {chain[0][0] if chain else '(none)'}"
                            f" but the witness holds checkpoints from position {witnessed[0]['position']}: positions "
                            f"1..{last} were deleted", 1)
        held = {cp["position"]: checkpoint_hash(cp) for cp in checkpoints}
        agreed = 0
        for entry in witnessed:
            try:
                public_key.verify(bytes.fromhex(entry["signature"]), checkpoint_message(entry))
            except (InvalidSignature, ValueError):
                raise Bad(entry["head_seq"], f"the witness's checkpoint at position {entry['position']} has a bad "
                                             "signature", entry["position"]) from None
            first = agreed + 1
            # Every witnessed checkpoint, whatever the first position the server still serves: deleting the oldest
            # checkpoints (or all of them) must not shrink what is compared.
            if held.get(entry["position"]) != checkpoint_hash(entry):
                raise Bad(seq_at(first), f"the server's checkpoints do not hold the checkpoint witnessed at position "
                                         f"{entry['position']}: the chain from position {first} on was rewritten, "
                                         "checkpoints were deleted, or the database was restored from an older "
                                         "backup", first, exact=False)
            if entry["position"] in by_position and by_position[entry["position"]] != (entry["head_seq"],
                                                                                       entry["head_hash"]):
                raise Bad(seq_at(first), f"the chain does not meet the checkpoint witnessed at position "
                                         f"{entry['position']}: rows from position {first} on were altered", first,
                          exact=False)
            agreed = entry["position"]
        if not filtered and chain and chain[-1][0] < witnessed[-1]["position"]:
            first = chain[-1][0] + 1
            raise Bad(None, f"the export ends at position {chain[-1][0]} but the witness holds a checkpoint at "
                            f"position {witnessed[-1]['position']}: events from position {first} on are missing",
                      first)
        notes.append(f"the server's checkpoints hold all {len(witnessed)} witnessed checkpoint(s)")
    if chain:
        notes.append(f"positions {chain[0][0]}..{chain[-1][0]} in {runs} contiguous run(s)")
        if anchored:
            notes.append(f"anchored to a signed checkpoint up to position {anchored}")
        else:
            notes.append("no signed checkpoint falls inside this segment: hashes are consistent but not anchored")
    if unsealed:
        notes.append(f"{unsealed} event(s) not yet sealed, so not checked")
    return len(chain), notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", help="the JSON Lines export")
    parser.add_argument("--checkpoints", action="append", default=[], help="checkpoints JSON (repeatable)")
    parser.add_argument("--public-key", required=True, help="base64 raw key, a PEM file, or /audit/public-key/ JSON")
    parser.add_argument("--witness", action="append", default=[],
                        help="a copy of AUDIT_WITNESS_DIR, or one of its files (repeatable)")
    parser.add_argument("--filtered", action="store_true",
                        help="the export was filtered (by agency, action...), so gaps between positions are expected")
    args = parser.parse_args(argv)
    try:
        count, notes = verify(args.export, load_checkpoints(args.checkpoints), load_public_key(args.public_key),
                              filtered=args.filtered, witnessed=load_witness(args.witness))
    except Bad as bad:
        where = f" (position {bad.position})" if bad.position is not None else ""
        print(f"FAILED at seq {bad.seq}{where}: {bad.message}")
        return 1
    print(f"OK {count} events")
    for note in notes:
        print(f"  {note}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
