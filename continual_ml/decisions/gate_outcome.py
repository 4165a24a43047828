"""Recording what the gate decided about a model that is not promoted."""

from __future__ import annotations

from datetime import date

from continual_ml.decisions.challenger import CHALLENGER, open_challenger
from continual_ml.warehouse import registry


def outcome_of(gate: dict, require_approval: bool) -> str:
    """promoted | pending_approval | challenger | rejected, from a recorded gate verdict."""
    if gate["passed"]:
        return "pending_approval" if require_approval else "promoted"
    return "challenger" if gate["details"].get("outcome") == "keep" else "rejected"


def record_refusal(
    conn, model: dict, outcome: str, gate: dict, actor: str, day: date | None
) -> None:
    """A refusal for good, or a challenger kept (replacing an older one on evidence only).

    A challenger already open and still undecided changes nothing in the registry: its
    evidence and verdict are in `shadow_scores` and `gate_results`, not one history row a day.
    """
    reason, version = gate["reason"], model["version"]
    if outcome == "pending_approval":
        registry.record_decision(
            conn, version, "pending_approval", "pending_approval", reason, actor, day
        )
        return
    current = open_challenger(conn)
    if outcome == "rejected":
        registry.record_decision(conn, version, "rejected", "rejected", reason, actor, day)
        return
    replaced = gate["details"].get("replaces")
    if replaced is not None and current and current["version"] == replaced:
        why = f"replaced by v{version} on evidence: {reason}"
        registry.record_decision(conn, replaced, "rejected", "replaced", why, actor, day)
    if current is None or current["version"] != version:
        action = "kept_as_challenger"
        registry.record_decision(conn, version, CHALLENGER, action, reason, actor, day)


def close_challengers(conn, champion_version: int, actor: str) -> list[int]:
    """Close every open challenger but the new champion: its evidence was against another."""
    closed = []
    while (current := open_challenger(conn)) and current["version"] != champion_version:
        why = f"v{champion_version} became the champion; the evidence was against the one before"
        registry.record_decision(conn, current["version"], "rejected", "superseded", why, actor)
        closed.append(current["version"])
    return closed
