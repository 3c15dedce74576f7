"""Media notes: what a voice, photo or file message carries, and sending it back."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import (
    Message,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
)
from aiogram.utils.i18n import gettext as _

from storage.models import Note, NoteMedia

MEDIA_ICONS = {
    "voice": "🎤", "audio": "🎵", "photo": "🖼", "document": "📎", "video": "🎬",
    "video_note": "⏺",
}


# The message attributes that carry a file, in the order they are looked at.
_MEDIA_KINDS = ("voice", "audio", "photo", "document", "video", "video_note")


def _file_of(message: Message) -> tuple[str | None, str | None, int | None, int | None]:
    """Kind, file id, length (seconds; photos and documents have none) and size of the
    message's media, if any."""
    for kind in _MEDIA_KINDS:
        media = getattr(message, kind)
        if not media:
            continue
        if kind == "photo":
            media = media[-1]  # the sizes come smallest first
        return kind, media.file_id, getattr(media, "duration", None), media.file_size
    return None, None, None, None


def _forwarded_from(message: Message) -> str | None:
    """Who a forwarded message came from, as Telegram shows it."""
    origin = message.forward_origin
    if isinstance(origin, MessageOriginUser):
        return origin.sender_user.full_name
    if isinstance(origin, MessageOriginHiddenUser):
        return origin.sender_user_name
    if isinstance(origin, MessageOriginChat):
        return origin.sender_chat.title or _("a chat")
    if isinstance(origin, MessageOriginChannel):
        return origin.chat.title or _("a channel")
    return None


def media_of(message: Message) -> NoteMedia:
    """File, kind, length and size of a media message, and where a forward came from."""
    media_type, file_id, duration, size = _file_of(message)
    origin = message.forward_origin
    return NoteMedia(
        media_type=media_type, file_id=file_id, duration=duration, file_size=size,
        forward_from=_forwarded_from(message),
        forward_date=origin.date if origin is not None else None,
    )


def media_label(note: Note) -> str:
    if note.media_type is None:
        return ""
    label = MEDIA_ICONS.get(note.media_type, "📎")
    if note.duration:
        label += f" {note.duration // 60}:{note.duration % 60:02}"
    return label


async def send_media(bot: Bot, chat_id: int, note: Note) -> None:
    """Send a media note back by its Telegram file_id, with its caption."""
    assert note.file_id is not None
    caption = note.text[:1024] or None
    if note.media_type == "voice":
        await bot.send_voice(chat_id, note.file_id, caption=caption, parse_mode=None)
    elif note.media_type == "audio":
        await bot.send_audio(chat_id, note.file_id, caption=caption, parse_mode=None)
    elif note.media_type == "photo":
        await bot.send_photo(chat_id, note.file_id, caption=caption, parse_mode=None)
    elif note.media_type == "video":
        await bot.send_video(chat_id, note.file_id, caption=caption, parse_mode=None)
    elif note.media_type == "video_note":
        await bot.send_video_note(chat_id, note.file_id)
    else:
        await bot.send_document(chat_id, note.file_id, caption=caption, parse_mode=None)
