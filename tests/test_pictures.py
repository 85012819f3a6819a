"""Pictures in use (issue #14): avatar, cover and prize pictures referenced by upload id, and
shown as absolute {url, width, height} wherever the user or event appears."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Upload
from accounts.services import upload_create, uploads_sweep
from events.models import Event
from tests.conftest import client_for
from tests.factories import EventFactory, UserFactory, event_payload
from tests.pictures import picture

pytestmark = pytest.mark.django_db


@pytest.fixture
def creator():
    return UserFactory()


@pytest.fixture
def outsider():
    return UserFactory()


def upload(user, purpose, size=(640, 480)) -> Upload:
    return upload_create(owner=user, purpose=purpose, data=picture("PNG", size), now=timezone.now())


def image_of(upload_row: Upload) -> dict:
    return {
        "url": f"http://testserver/media/{upload_row.file}",
        "width": upload_row.width,
        "height": upload_row.height,
    }


def create_event(user, **overrides):
    return client_for(user).post("/api/v1/events", event_payload(**overrides), format="json")


# --- avatar -----------------------------------------------------------------------------------


def test_user_sets_their_uploaded_avatar_and_me_shows_it(user_client, user):
    avatar = upload(user, "avatar")

    response = user_client.patch("/api/v1/me", {"avatar": avatar.public_id}, format="json")

    assert response.status_code == 200, response.content
    expected = image_of(avatar)
    assert expected["width"] == expected["height"] == 256
    assert response.json()["data"]["avatar"] == expected
    assert user_client.get("/api/v1/me").json()["data"]["avatar"] == expected


def test_empty_avatar_removes_it(user_client, user):
    user_client.patch("/api/v1/me", {"avatar": upload(user, "avatar").public_id}, format="json")
    response = user_client.patch("/api/v1/me", {"avatar": ""}, format="json")
    assert response.json()["data"]["avatar"] is None


def test_someone_elses_upload_cannot_be_my_avatar(user_client, outsider):
    theirs = upload(outsider, "avatar")
    response = user_client.patch("/api/v1/me", {"avatar": theirs.public_id}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == 40033
    assert response.json()["data"] == {"avatar": [theirs.public_id]}


def test_a_cover_upload_cannot_be_an_avatar(user_client, user):
    cover = upload(user, "cover")
    response = user_client.patch("/api/v1/me", {"avatar": cover.public_id}, format="json")
    assert response.json()["code"] == 40033


def test_unknown_upload_id_is_refused_and_nothing_else_changes(user_client, user):
    response = user_client.patch(
        "/api/v1/me", {"nickname": "新名字", "avatar": "img_doesnotexist00"}, format="json"
    )
    assert response.json()["code"] == 40033
    user.refresh_from_db()
    assert user.nickname != "新名字"


@pytest.mark.parametrize("alias", [str.upper, lambda upload_id: upload_id + " "])
def test_an_upload_id_in_another_case_or_with_a_trailing_space_is_unusable(
    user_client, user, creator, alias
):
    avatar, cover = upload(user, "avatar"), upload(creator, "cover")

    me = user_client.patch("/api/v1/me", {"avatar": alias(avatar.public_id)}, format="json")
    event = create_event(creator, cover=alias(cover.public_id))

    assert me.status_code == 400 and me.json()["code"] == 40033
    assert me.json()["data"] == {"avatar": [alias(avatar.public_id)]}
    assert event.status_code == 400 and event.json()["code"] == 40033
    assert not Upload.objects.filter(attached_at__isnull=False).exists()


def test_users_without_an_uploaded_avatar_show_null(user_client):
    assert user_client.get("/api/v1/me").json()["data"]["avatar"] is None


# --- cover and prize pictures -----------------------------------------------------------------


def test_creator_creates_an_event_with_a_cover_and_prize_pictures(creator):
    cover, first, second = (
        upload(creator, "cover"),
        upload(creator, "prize"),
        upload(creator, "prize"),
    )
    prizes = [
        {"name": "一等奖", "quantity": 1, "image": first.public_id},
        {"name": "二等奖", "quantity": 2, "image": second.public_id},
        {"name": "三等奖", "quantity": 3},
    ]

    response = create_event(creator, cover=cover.public_id, prizes=prizes)

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["cover"] == image_of(cover)
    assert [p["image"] for p in data["prizes"]] == [image_of(first), image_of(second), None]


def test_event_shows_its_creators_avatar(creator):
    avatar = upload(creator, "avatar")
    client_for(creator).patch("/api/v1/me", {"avatar": avatar.public_id}, format="json")
    data = create_event(creator).json()["data"]
    assert data["creator"]["avatar"] == image_of(avatar)


@pytest.mark.parametrize(
    ("field", "purpose"), [("cover", "prize"), ("cover", "avatar"), ("prize", "cover")]
)
def test_upload_of_another_purpose_is_refused_on_create(creator, field, purpose):
    wrong = upload(creator, purpose)
    if field == "cover":
        response = create_event(creator, cover=wrong.public_id)
    else:
        response = create_event(
            creator, prizes=[{"name": "一等奖", "quantity": 1, "image": wrong.public_id}]
        )
    assert response.status_code == 400 and response.json()["code"] == 40033
    assert not Event.objects.exists()


def test_someone_elses_prize_picture_is_refused_and_no_event_is_created(creator, outsider):
    theirs = upload(outsider, "prize")
    response = create_event(
        creator, prizes=[{"name": "一等奖", "quantity": 1, "image": theirs.public_id}]
    )
    assert response.json()["code"] == 40033
    assert response.json()["data"] == {"prizes": [theirs.public_id]}
    assert not Event.objects.exists()
    assert Upload.objects.get(pk=theirs.pk).attached_at is None  # rolled back


def test_creator_changes_and_removes_the_cover_and_the_detail_shows_it_at_once(creator):
    client = client_for(creator)
    event_id = create_event(creator).json()["data"]["id"]
    assert client.get(f"/api/v1/events/{event_id}").json()["data"]["cover"] is None
    cover = upload(creator, "cover")

    client.patch(f"/api/v1/events/{event_id}", {"cover": cover.public_id}, format="json")
    assert client.get(f"/api/v1/events/{event_id}").json()["data"]["cover"] == image_of(cover)

    client.patch(f"/api/v1/events/{event_id}", {"cover": ""}, format="json")
    assert client.get(f"/api/v1/events/{event_id}").json()["data"]["cover"] is None


def test_creator_sets_prize_pictures_on_edit(creator):
    client = client_for(creator)
    event_id = create_event(creator).json()["data"]["id"]
    image = upload(creator, "prize")
    prizes = [{"name": "大奖", "quantity": 1, "image": image.public_id}]

    response = client.patch(f"/api/v1/events/{event_id}", {"prizes": prizes}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["data"]["prizes"][0]["image"] == image_of(image)


def test_outsider_cannot_put_their_cover_on_someone_elses_event(creator, outsider):
    event_id = create_event(creator).json()["data"]["id"]
    theirs = upload(outsider, "cover")
    response = client_for(outsider).patch(
        f"/api/v1/events/{event_id}", {"cover": theirs.public_id}, format="json"
    )
    assert response.status_code == 403


def test_my_events_and_entries_lists_carry_the_pictures(creator, outsider):
    cover, avatar = upload(creator, "cover"), upload(outsider, "avatar")
    client_for(outsider).patch("/api/v1/me", {"avatar": avatar.public_id}, format="json")
    event_id = create_event(creator, cover=cover.public_id).json()["data"]["id"]
    client_for(outsider).post(f"/api/v1/events/{event_id}/entry")

    mine = client_for(creator).get("/api/v1/me/events?role=created").json()["data"]
    entries = client_for(creator).get(f"/api/v1/events/{event_id}/entries").json()["data"]

    assert mine["results"][0]["cover"] == image_of(cover)
    assert entries["results"][0]["user"]["avatar"] == image_of(avatar)


def test_public_base_url_makes_the_picture_urls(creator, settings):
    settings.MEDIA_PUBLIC_BASE_URL = "https://img.example.com/lottery/"
    cover = upload(creator, "cover")
    data = create_event(creator, cover=cover.public_id).json()["data"]
    assert data["cover"]["url"] == f"https://img.example.com/lottery/{cover.file}"


# --- the sweeper keeps what is in use ---------------------------------------------------------


def test_sweeper_keeps_attached_uploads_and_deletes_the_rest(creator):
    used_cover, used_prize, unused = (
        upload(creator, "cover"),
        upload(creator, "prize"),
        upload(creator, "cover"),
    )
    EventFactory(
        creator=creator,
        cover=used_cover.public_id,
        prizes=[{"name": "奖", "quantity": 1, "image": used_prize.public_id}],
    )

    assert uploads_sweep(now=timezone.now() + timedelta(days=2)) == 1

    assert set(Upload.objects.values_list("pk", flat=True)) == {used_cover.pk, used_prize.pk}
    assert not Upload.objects.filter(pk=unused.pk).exists()


def test_an_upload_being_discarded_can_no_longer_be_attached(user_client, user):
    avatar = upload(user, "avatar")
    Upload.objects.filter(pk=avatar.pk).update(discarded_at=timezone.now())
    response = user_client.patch("/api/v1/me", {"avatar": avatar.public_id}, format="json")
    assert response.json()["code"] == 40033


def test_pictures_add_no_query_to_my_events(creator, django_assert_num_queries):
    client = client_for(creator)
    client.patch("/api/v1/me", {"avatar": upload(creator, "avatar").public_id}, format="json")
    for _ in range(3):
        prizes = [{"name": "奖", "quantity": 1, "image": upload(creator, "prize").public_id}]
        create_event(creator, cover=upload(creator, "cover").public_id, prizes=prizes)
    client.get("/api/v1/me/events?role=created")  # authentication's snapshot is cached now

    with django_assert_num_queries(3):  # events with creator, avatar, cover; prizes; my entries
        response = client.get("/api/v1/me/events?role=created")

    assert all(
        event["cover"] and event["prizes"][0]["image"]
        for event in response.json()["data"]["results"]
    )
