"""One router per feature; each module exposes create_router()."""
