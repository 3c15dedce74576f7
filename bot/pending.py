"""Names waiting behind a "create client" button.

A name can be longer than callback data allows (64 bytes), so the button carries a key and
the name waits in the user's FSM data. A restart may forget it: the button then answers
that it is no longer valid, and nothing else is lost.
"""

from __future__ import annotations

from aiogram.fsm.context import FSMContext

_KEY = "pending_names"
_KEEP = 20


async def remember_name(state: FSMContext, key: str, name: str) -> None:
    data = await state.get_data()
    names = dict(data.get(_KEY, {}))
    names.pop(key, None)
    names[key] = name
    while len(names) > _KEEP:
        names.pop(next(iter(names)))
    await state.update_data({_KEY: names})


async def recall_name(state: FSMContext, key: str) -> str | None:
    data = await state.get_data()
    name = data.get(_KEY, {}).get(key)
    return name if isinstance(name, str) else None
