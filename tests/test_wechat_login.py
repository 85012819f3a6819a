"""What WeChat answers to a login is checked before it is stored (issue #20, item 7).

jscode2session once answered an openid longer than our column and the login was a 500
(MariaDB's DataError 1406). Whatever WeChat sends that is not the session it hands out (an
openid, unionid or session_key of the wrong shape or length, an errcode that is not a number)
is a 502 ``50200`` in the envelope, and no user is created. WeChat is faked at the HTTP level:
``responses`` in-process, and ``tests.fake_wechat.FakeWeChat`` over a real socket.
"""

import pytest
import responses

from accounts.models import User
from lottery_site.errors import ApplicationError
from tests.fake_wechat import FakeWeChat
from wechat.client import call_wechat

pytestmark = pytest.mark.django_db

JSCODE2SESSION = "https://wechat.test/sns/jscode2session"
GOOD = {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "session_key": "tiihtNczf5v6AKRyjwEUhQ=="}


def login(api, code="code-1"):
    return api.post("/api/v1/auth/login", {"code": code}, format="json")


def is_bad_gateway(response) -> bool:
    body = response.json()
    return response.status_code == 502 and body == {
        "code": 50200,
        "msg": "微信服务返回异常，请稍后再试",
        "data": None,
    }


UNEXPECTED = {
    "openid one over our column": GOOD | {"openid": "o" * 65},
    "openid of a thousand characters": GOOD | {"openid": "o" * 1000},
    "openid with a space": GOOD | {"openid": "oUpF8uMu AJO"},
    "openid with a newline": GOOD | {"openid": "oUpF8uMuAJO\n"},
    "openid in Chinese": GOOD | {"openid": "用户"},
    "openid with a NUL": GOOD | {"openid": "oUpF8\u0000uMu"},
    "openid a number": GOOD | {"openid": 12345},
    "openid a list": GOOD | {"openid": ["oUpF8uMuAJO"]},
    "openid an object": GOOD | {"openid": {"id": "oUpF8uMuAJO"}},
    "openid null": GOOD | {"openid": None},
    "openid empty": GOOD | {"openid": ""},
    "no openid": {"session_key": GOOD["session_key"]},
    "no session_key": {"openid": GOOD["openid"]},
    "session_key null": GOOD | {"session_key": None},
    "session_key empty": GOOD | {"session_key": ""},
    "session_key a number": GOOD | {"session_key": 42},
    "session_key over our column": GOOD | {"session_key": "k" * 129},
    "session_key with a space": GOOD | {"session_key": "tiihtNcz f5v6"},
    "unionid over our column": GOOD | {"unionid": "u" * 65},
    "unionid a number": GOOD | {"unionid": 7},
    "unionid a list": GOOD | {"unionid": ["u"]},
    "unionid in Chinese": GOOD | {"unionid": "联合"},
    "errcode a string": {"errcode": "40029", "errmsg": "invalid code"},
    "errcode a list": {"errcode": [40029], "errmsg": "invalid code"},
    "errcode an object": {"errcode": {"code": 40029}},
    "errcode true": GOOD | {"errcode": True},
    "errcode a float": GOOD | {"errcode": 40029.0},
    "errcode a string zero": GOOD | {"errcode": "0"},
    "nothing at all": {},
}


@pytest.mark.parametrize("answer", UNEXPECTED.values(), ids=UNEXPECTED.keys())
def test_unexpected_session_from_wechat_is_a_502_and_creates_no_user(api, wechat, answer):
    wechat.add(responses.GET, JSCODE2SESSION, json=answer)

    response = login(api)

    assert is_bad_gateway(response), response.content
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    "answer",
    [
        GOOD,
        GOOD | {"errcode": 0, "errmsg": "ok"},
        GOOD | {"errcode": None},
        GOOD | {"unionid": ""},
        GOOD | {"unionid": None},
        GOOD | {"unionid": "oTmHYjg5Pgj-JZPEWH-N2hp_1hZI"},
    ],
    ids=["plain", "errcode 0", "errcode null", "unionid empty", "unionid null", "unionid"],
)
def test_a_session_as_wechat_sends_it_logs_in(api, wechat, answer):
    wechat.add(responses.GET, JSCODE2SESSION, json=answer)

    response = login(api)

    assert response.status_code == 201, response.content
    user = User.objects.get(openid=GOOD["openid"])
    assert user.unionid == (answer.get("unionid") or None)


def test_the_longest_ids_and_session_key_we_take_are_stored_whole(api, wechat):
    longest = {"openid": "o" * 64, "unionid": "u" * 64, "session_key": "k" * 128}
    wechat.add(responses.GET, JSCODE2SESSION, json=longest)

    assert login(api).status_code == 201

    user = User.objects.get()
    assert (user.openid, user.unionid, user.session_key) == tuple(longest.values())


def test_the_log_names_the_unexpected_field_but_never_a_session_key(api, wechat, caplog):
    secret = "sk-" + "s" * 200
    wechat.add(responses.GET, JSCODE2SESSION, json=GOOD | {"session_key": secret})

    assert is_bad_gateway(login(api))

    assert "unexpected session_key" in caplog.text
    assert secret not in caplog.text


@pytest.mark.parametrize("errcode", ["40001", [40001], {"a": 1}, True, 1.5])
def test_any_wechat_call_answering_a_non_integer_errcode_is_a_bad_gateway(wechat, errcode):
    # Callers look errcodes up in dicts and sets: an unhashable one there was a TypeError.
    wechat.add(
        responses.POST, "https://wechat.test/cgi-bin/stable_token", json={"errcode": errcode}
    )

    with pytest.raises(ApplicationError) as refused:
        call_wechat("POST", "/cgi-bin/stable_token", json={})

    assert refused.value.name == "wechat_bad_gateway"


# --- over a real socket -------------------------------------------------------------------


@pytest.fixture
def fake_wechat(settings):
    with FakeWeChat() as fake:
        settings.WECHAT_API_BASE = fake.url
        yield fake


@pytest.mark.parametrize(
    "answer",
    [
        GOOD | {"openid": "o" * 65},
        GOOD | {"unionid": "u" * 300},
        GOOD | {"session_key": "k" * 129},
        {"errcode": [40029]},
    ],
    ids=["openid too long", "unionid too long", "session_key too long", "errcode a list"],
)
def test_a_fake_wechat_over_http_sending_what_we_cannot_store_is_a_502(api, fake_wechat, answer):
    fake_wechat.state.session_answers.append(answer)

    response = login(api)

    assert is_bad_gateway(response), response.content
    assert User.objects.count() == 0
    assert fake_wechat.state.calls["jscode2session"] == 1


def test_after_a_bad_answer_the_next_login_over_http_works(api, fake_wechat):
    fake_wechat.state.session_answers.append(GOOD | {"openid": "o" * 65})

    assert is_bad_gateway(login(api, "c1"))
    assert login(api, "c2").status_code == 201
    assert User.objects.count() == 1


@pytest.mark.mysql
def test_the_longest_openid_we_take_fits_mariadbs_column_over_http(api, fake_wechat):
    # MariaDB refuses what does not fit (STRICT_TRANS_TABLES: DataError 1406), SQLite does not:
    # here the limit we check is shown to be the column's.
    fake_wechat.state.session_answers += [
        GOOD | {"openid": "o" * 64, "unionid": "u" * 64, "session_key": "k" * 128},
        GOOD | {"openid": "p" * 65},
    ]

    assert login(api, "c1").status_code == 201
    assert is_bad_gateway(login(api, "c2"))
    assert list(User.objects.values_list("openid", flat=True)) == ["o" * 64]
