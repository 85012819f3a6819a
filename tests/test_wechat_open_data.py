"""WeChat's open data decrypted as WeChat documents it (开放数据校验与解密): AES-128-CBC,
PKCS#7, the base64 session_key as the key, the base64 iv, a watermark naming the app."""

import base64

import pytest

from lottery_site.errors import ApplicationError
from tests.fake_wechat import encrypt_open_data, group_data, new_session_key
from wechat import open_data as wechat_open_data

# WeChat's own sample (the demo of its 加密数据解密算法 documentation): this key, IV and
# ciphertext decrypt to the user "Band" with the watermark of the app wx4f4bc4dec97d474b.
SAMPLE_APP = "wx4f4bc4dec97d474b"
SAMPLE_KEY = "tiihtNczf5v6AKRyjwEUhQ=="
SAMPLE_IV = "r7BXXKkLb8qrSNn05n0qiA=="
SAMPLE_DATA = (
    "CiyLU1Aw2KjvrjMdj8YKliAjtP4gsMZMQmRzooG2xrDcvSnxIMXFufNstNGTyaGS9uT5geRa0W4oTOb1WT7fJlAC"
    "+oNPdbB+3hVbJSRgv+4lGOETKUQz6OYStslQ142dNCuabNPGBzlooOmB231qMM85d2/fV6ChevvXvQP8Hkue1po"
    "OFtnEtpyxVLW1zAo6/1Xx1COxFvrc2d7UL/lmHInNlxuacJXwu0fjpXfz/YqYzBIBzD6WUfTIF9GRHpOn/Hz7saL"
    "8xz+W//FRAUid1OksQaQx4CMs8LOddcQhULW4ucetDf96JcR3g0gfRK4PC7E/r7Z6xNrXd2UIeorGj5Ef7b1pJAY"
    "B6Y5anaHqZ9J6nKEBvB4DnNLIVWSgARns/8wR2SiRS7MNACwTyrGvt9ts8p12PKFdlqYTopNHR1Vf7XjfhQlVsAJ"
    "dNiKdYmYVoKlaRv85IfVunYzO0IKXsyl7JCUjCpoG20f0a04COwfneQAGGwd5oa+T8yO5hzuyDb/XcxxmK01Epq"
    "OyuxINew=="
)


def test_wechats_own_sample_decrypts_to_its_published_plaintext(settings):
    settings.WECHAT_APP_ID = SAMPLE_APP
    data = wechat_open_data.decrypt(
        session_key=SAMPLE_KEY, encrypted_data=SAMPLE_DATA, iv=SAMPLE_IV
    )
    assert data["nickName"] == "Band" and data["openId"] == "oGZUI0egBJY1zhBYw2KhdUfwVJJE"
    assert data["watermark"] == {"timestamp": 1477314187, "appid": SAMPLE_APP}


def test_wechats_own_sample_is_refused_for_another_app(settings):
    settings.WECHAT_APP_ID = "wx-test-app"
    with pytest.raises(wechat_open_data.OpenDataRefused):
        wechat_open_data.decrypt(session_key=SAMPLE_KEY, encrypted_data=SAMPLE_DATA, iv=SAMPLE_IV)


def test_a_test_vector_made_with_a_test_key_gives_the_group_back():
    key = new_session_key()
    sent = group_data("tG-opengid-1", session_key=key)
    data = wechat_open_data.decrypt(session_key=key, **sent)
    assert wechat_open_data.group_id(data) == "tG-opengid-1"
    assert data["watermark"]["appid"] == "wx-test-app"


def test_a_fixed_iv_and_key_give_wechats_bytes():
    """The same construction with a fixed key and IV: AES-128-CBC over the JSON padded with
    PKCS#7 (a 16-byte plaintext takes a second block, all padding)."""
    key = base64.b64encode(bytes(range(16))).decode()
    iv = bytes(16)
    sent = encrypt_open_data({"opengid": "g"}, session_key=key, iv=iv)
    assert sent["iv"] == "AAAAAAAAAAAAAAAAAAAAAA=="
    assert len(base64.b64decode(sent["encrypted_data"])) == 32
    assert wechat_open_data.decrypt(session_key=key, **sent) == {"opengid": "g"}


@pytest.mark.parametrize("session_key", ["", "not base64!", base64.b64encode(b"short").decode()])
def test_no_usable_session_key_asks_for_a_new_login(session_key):
    sent = group_data("g", session_key=new_session_key())
    with pytest.raises(ApplicationError) as refusal:
        wechat_open_data.decrypt(session_key=session_key, **sent)
    assert refusal.value.name == "wechat_session_expired"


def test_another_key_cannot_open_the_data_and_asks_for_a_new_login():
    sent = group_data("g", session_key=new_session_key())
    with pytest.raises(ApplicationError) as refusal:
        wechat_open_data.decrypt(session_key=new_session_key(), **sent)
    assert refusal.value.name == "wechat_session_expired"


@pytest.mark.parametrize(
    "change",
    [
        {"iv": "AAAA"},  # not 16 bytes
        {"iv": "***"},  # not base64
        {"encrypted_data": "AAAA"},  # not whole blocks
        {"encrypted_data": "A" * (wechat_open_data.MAX_ENCRYPTED_CHARS + 4)},
    ],
)
def test_what_cannot_be_wechats_data_is_refused(change):
    key = new_session_key()
    sent = {**group_data("g", session_key=key), **change}
    with pytest.raises(wechat_open_data.OpenDataRefused):
        wechat_open_data.decrypt(session_key=key, **sent)


def test_a_plaintext_that_is_not_an_object_is_refused():
    key = new_session_key()
    sent = encrypt_open_data(["opengid"], session_key=key)  # type: ignore[arg-type]
    with pytest.raises(wechat_open_data.OpenDataRefused):
        wechat_open_data.decrypt(session_key=key, **sent)
