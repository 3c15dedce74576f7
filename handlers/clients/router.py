"""The clients feature's router: which update goes to which handler."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter

from bot.callbacks import ClientAction, ClientOp, ListPage, PickClient
from handlers.buttons import answer_presses, button_expired
from handlers.clients import card, commands, fields
from handlers.clients.commands import PENDING_KEY
from handlers.clients.filters import FIELDS, OwnClient, PendingName
from handlers.clients.states import ClientForm
from storage.models import Channel

_TYPED = (F.text, ~F.text.startswith("/"))  # a value typed in a dialog, not a command


def create_router() -> Router:
    router = Router(name=__name__)
    message, button = router.message.register, router.callback_query.register

    message(commands.new_client, Command("newclient", magic=F.args.strip()))
    message(commands.ask_client_name, Command("newclient"))
    message(commands.new_client_name, StateFilter(ClientForm.name), *_TYPED)
    message(commands.add_alias, Command("alias"))
    message(commands.list_clients, Command("clients"))
    message(commands.show_client, Command("client"))
    message(fields.field_value, StateFilter(ClientForm.field), *_TYPED)

    own = OwnClient()  # stateless: one instance serves every registration
    button(commands.clients_page, ListPage.filter(F.view == "clients"))
    button(commands.open_picked, PickClient.filter(F.purpose == "card"), own)
    button(commands.create_from_button, ClientAction.filter(F.op == ClientOp.CREATE),
           PendingName(PENDING_KEY))
    button(card.restore, ClientAction.filter(F.op == ClientOp.RESTORE))

    button(card.open_card, ClientAction.filter(F.op == ClientOp.OPEN), own)
    button(card.ask_field, ClientAction.filter((F.op == ClientOp.EDIT) & F.arg.in_(FIELDS)), own)
    button(card.choose_channel, ClientAction.filter(F.op == ClientOp.CHANNEL), own)
    button(card.set_channel, ClientAction.filter(
        (F.op == ClientOp.SET_CHANNEL) & F.arg.in_({channel.value for channel in Channel})
    ), own)
    button(card.toggle_segment, ClientAction.filter(F.op == ClientOp.SEGMENT), own)
    button(card.mark_former, ClientAction.filter(F.op == ClientOp.FORMER), own)
    button(card.mark_active, ClientAction.filter(F.op == ClientOp.ACTIVE), own)
    button(card.ask_delete, ClientAction.filter(F.op == ClientOp.DELETE), own)
    button(card.delete, ClientAction.filter(F.op == ClientOp.DELETE_YES), own)

    # Whatever the filters above refused: gone, someone else's, or no longer applicable.
    # ClientOp.TASK belongs to the tasks feature's router, which comes after this one.
    button(button_expired, ClientAction.filter(F.op != ClientOp.TASK))
    button(button_expired, PickClient.filter(F.purpose == "card"))
    return answer_presses(router)
