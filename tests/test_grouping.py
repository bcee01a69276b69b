"""Reports posted in pieces become one: photo then text, text then photo, albums, pins."""

from __future__ import annotations

from handlers.grouping import assign_pieces, merge_pieces, message_key
from tests.conftest import MessageFactory


def test_photo_then_text_from_the_same_sender_join(make_message: MessageFactory) -> None:
    photo = make_message(photos=1, seconds=0)
    text = make_message("井盖没了", seconds=50)
    pieces = assign_pieces([photo, text])
    assert pieces == {message_key(text): [photo]}
    assert merge_pieces(text, pieces[message_key(text)]).media_count == 1


def test_text_then_photo_join(make_message: MessageFactory) -> None:
    text = make_message("围墙裂了", seconds=0)
    photo = make_message(photos=1, seconds=30)
    assert assign_pieces([text, photo]) == {message_key(text): [photo]}


def test_album_pieces_join_the_captioned_member(make_message: MessageFactory) -> None:
    caption = make_message("垃圾堆了两天", photos=1, album="a1", seconds=0)
    rest = [make_message(photos=1, album="a1", seconds=1) for _ in range(2)]
    merged = merge_pieces(caption, assign_pieces([caption, *rest])[message_key(caption)])
    assert merged.media_count == 3


def test_a_pin_gives_its_location_to_the_description(make_message: MessageFactory) -> None:
    pin = make_message(location=(28.1968, 113.0372), seconds=0)
    text = make_message("就这个位置，电线垂下来了", seconds=20)
    merged = merge_pieces(text, assign_pieces([pin, text])[message_key(text)])
    assert merged.location == pin.location


def test_other_senders_and_late_pieces_stay_apart(make_message: MessageFactory) -> None:
    text = make_message("井盖没了", seconds=0)
    someone_else = make_message(photos=1, sender="7000002", seconds=10)
    too_late = make_message(photos=1, seconds=600)
    assert assign_pieces([text, someone_else, too_late]) == {}


def test_the_nearest_description_wins(make_message: MessageFactory) -> None:
    early = make_message("第一件事", seconds=0)
    photo = make_message(photos=1, seconds=100)
    late = make_message("第二件事", seconds=110)
    assert assign_pieces([early, photo, late]) == {message_key(late): [photo]}


def test_equal_ids_in_different_chats_do_not_collide(make_message: MessageFactory) -> None:
    text = make_message("井盖没了", message_id="7")
    other_chat_photo = make_message(photos=1, chat_id="tg:-1009", message_id="8", seconds=5)
    same_id_elsewhere = make_message("别的群", chat_id="tg:-1009", message_id="7", seconds=6)
    pieces = assign_pieces([text, other_chat_photo, same_id_elsewhere])
    assert pieces == {message_key(same_id_elsewhere): [other_chat_photo]}
