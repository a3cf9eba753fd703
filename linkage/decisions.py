"""People overrule the model: 'same' and 'different' judgements about two mentions.

A judgement is appended to ``link_decisions`` (never updated or deleted) and the persons around
the two mentions are reclustered at once, so it takes effect now; the changes are logged in
``person_history`` with the person who decided and their reason. Judgements are inputs to every
later clustering, so they survive retraining and every later run: a 'same' always holds, a
'different' is never overruled (the model's links that would join them are skipped).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from core.errors import Conflict, IntelError, NotFound
from core.store import Store
from linkage.identity import scalar
from linkage.run import identity_threshold, recluster, utc_now

DECISIONS = ("same", "different")


def _same_path(same_rows: list[dict[str, Any]], start: str, goal: str) -> list[dict[str, Any]] | None:
    """The 'same' decisions chaining start to goal (breadth first), or None."""
    adjacent: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for r in same_rows:
        adjacent.setdefault(r["mention_a"], []).append((r["mention_b"], r))
        adjacent.setdefault(r["mention_b"], []).append((r["mention_a"], r))
    came: dict[str, tuple[str, dict[str, Any]] | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            path = []
            while came[node] is not None:
                prev, row = came[node]
                path.append(row)
                node = prev
            return path[::-1]
        for nxt, row in adjacent.get(node, []):
            if nxt not in came:
                came[nxt] = (node, row)
                queue.append(nxt)
    return None


def _describe(row: dict[str, Any]) -> str:
    return (f"decision {row['decision_id']} ({row['mention_a']} {row['decision']} {row['mention_b']}, "
            f"by {row['decided_by']} on {row['decided_at']:%Y-%m-%d %H:%M})")


def check_decision(store: Store, a: str, b: str, decision: str) -> None:
    """Refuse (Conflict) a judgement on a < b that contradicts earlier ones, naming them."""
    rows = store.rows("SELECT * FROM link_decisions ORDER BY decision_id")
    for r in rows:
        if (r["mention_a"], r["mention_b"]) == (a, b) and r["decision"] != decision:
            raise Conflict(f"{a} and {b}: {_describe(r)} already says {r['decision']!r}; "
                           f"a judgement is never reversed by a later contradicting one")
    same_rows = [r for r in rows if r["decision"] == "same"]
    if decision == "same":
        # would joining a and b put a 'different' pair into one group of 'same' decisions?
        candidate = same_rows + [{"decision_id": "new", "mention_a": a, "mention_b": b}]
        for r in rows:
            if r["decision"] != "different":
                continue
            path = _same_path(candidate, r["mention_a"], r["mention_b"])
            if path is not None:
                others = [_describe(p) for p in path if p["decision_id"] != "new"]
                via = f" (with {'; '.join(others)})" if others else ""
                raise Conflict(f"'same' for {a} and {b} would join {r['mention_a']} and {r['mention_b']}{via}, "
                               f"which {_describe(r)} holds apart")
    else:
        path = _same_path(same_rows, a, b)
        if path is not None:
            raise Conflict(f"'different' for {a} and {b} contradicts {'; '.join(_describe(p) for p in path)}, "
                           f"which hold them to be the same person")


def decide(
    store: Store,
    mention_a: str,
    mention_b: str,
    decision: str,
    by: str,
    reason: str,
    *,
    config: dict[str, Any],
) -> dict[str, Any]:
    """Record a person's judgement that two mentions are the 'same' person or 'different' people,
    and recluster the persons around them now. Refuses (IntelError / NotFound / Conflict, store
    unchanged) an unknown mention, a mention with itself, an empty ``by`` or ``reason``, a
    judgement contradicting an earlier one on the pair, and a 'same' that would join mentions held
    apart by a 'different' (naming the blocking decision)."""
    if decision not in DECISIONS:
        raise IntelError(f"decision must be 'same' or 'different', got {decision!r}")
    by, reason = (by or "").strip(), (reason or "").strip()
    if not by:
        raise IntelError("a decision needs the name of the person making it (--by)")
    if not reason:
        raise IntelError("a decision needs a reason (--reason)")
    a, b = (mention_a or "").strip(), (mention_b or "").strip()
    if a == b:
        raise IntelError(f"a decision needs two different records; got {a!r} twice")
    for m in (a, b):
        if not scalar(store, "SELECT count(*) FROM mentions WHERE mention_id = ?", [m]):
            raise NotFound(f"no record {m!r} (give SOURCE:RECORD_ID, e.g. police:P000123)")
    a, b = min(a, b), max(a, b)
    threshold = identity_threshold(config)
    now = utc_now()
    with store.transaction():
        check_decision(store, a, b, decision)  # inside: no decision can slip in between the check and the write
        decision_id = int(scalar(store, "SELECT coalesce(max(decision_id), 0) FROM link_decisions")) + 1
        store.execute("INSERT INTO link_decisions VALUES (?, ?, ?, ?, ?, ?, ?)",
                      [decision_id, a, b, decision, by, reason, now])
        before = {r["mention_id"]: r["person_id"] for r in store.rows(
            "SELECT mention_id, person_id FROM person_mentions WHERE mention_id IN (?, ?)", [a, b])}
        changes = recluster(store, {a, b}, threshold=threshold, now=now, decided_by=by,
                            reason=f"decision {decision_id} ({decision}): {reason}", config=config)
        after = {r["mention_id"]: r["person_id"] for r in store.rows(
            "SELECT mention_id, person_id FROM person_mentions WHERE mention_id IN (?, ?)", [a, b])}
    changes.pop("unlinkable_mention_ids", None)
    return {
        "decision_id": decision_id,
        "mention_a": a,
        "mention_b": b,
        "decision": decision,
        "decided_by": by,
        "reason": reason,
        "decided_at": now,
        "persons_before": before,
        "persons_after": after,
        "changes": changes,
    }
