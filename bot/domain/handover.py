"""Which colleague covers a client while its manager is away."""

from __future__ import annotations

from storage.models import Handover


def covering_handover(
    handovers: list[Handover], owner_id: int, client_id: int | None
) -> Handover | None:
    """The handover that covers this owner's client now: one for the client beats one for
    all clients; tasks without a client stay with their owner."""
    if client_id is None:
        return None
    general = None
    for item in handovers:
        if item.owner_id != owner_id:
            continue
        if item.client_id == client_id:
            return item
        if item.client_id is None and general is None:
            general = item
    return general
