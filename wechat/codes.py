"""Mini-program codes: ``wxacode.getUnlimited`` (POST /wxa/getwxacodeunlimit).

WeChat answers the image itself on success and a JSON ``errcode`` on failure, with the same
HTTP status. The access token is the shared, cached stable token of ``wechat.access_token``; a
rejected one is replaced once, as for messages. Codes are made once per thing shared and
stored by the caller (``events.services.sharing.event_share_image``): the API has a rate limit
and every code for the same scene is the same picture.
"""

import logging

from django.conf import settings

from lottery_site.errors import ApplicationError
from wechat.access_token import TOKEN_REJECTED, get_access_token, invalidate_access_token
from wechat.client import request_wechat

logger = logging.getLogger(__name__)

PATH = "/wxa/getwxacodeunlimit"
MAX_SCENE_LENGTH = 32

# errcode -> our error; anything else (40097 invalid arguments, 41030 page not published,
# 40169 scene too long...) is a bad gateway: an operator must act.
CODE_ERRORS = {
    -1: "wechat_unavailable",  # system busy
    45009: "wechat_unavailable",  # daily limit reached
    45011: "wechat_unavailable",  # too frequent
}

# Our subscribe-message setting names the build; getUnlimited names it differently.
ENV_VERSIONS = {"formal": "release", "trial": "trial", "developer": "develop"}


def get_unlimited_code(*, scene: str, page: str) -> bytes:
    """The image of the mini-program code opening ``page`` with ``scene``.

    Raises ApplicationError: ``wechat_unavailable`` (503: busy, rate-limited, unreachable) or
    ``wechat_bad_gateway`` (502: WeChat refused our request).
    """
    if not 1 <= len(scene) <= MAX_SCENE_LENGTH:
        raise ValueError(f"scene must be 1-{MAX_SCENE_LENGTH} characters")
    body = {
        "scene": scene,
        "page": page,
        "check_path": settings.WECHAT_CODE_CHECK_PATH,
        "env_version": ENV_VERSIONS.get(settings.NOTIFY_MINIPROGRAM_STATE, "release"),
    }
    token = get_access_token()
    image, errcode = _post(token, body)
    if errcode in TOKEN_REJECTED:
        invalidate_access_token(token)
        image, errcode = _post(get_access_token(), body)
    if image is not None:
        return image
    logger.error("getwxacodeunlimit refused: errcode=%s (scene=%s page=%s)", errcode, scene, page)
    raise ApplicationError(
        CODE_ERRORS.get(errcode, "wechat_bad_gateway"), data={"errcode": errcode}
    )


def _post(token: str, body: dict) -> tuple[bytes | None, int | None]:
    """(image, None) on success, (None, errcode) on a refusal."""
    response = request_wechat("POST", PATH, params={"access_token": token}, json=body)
    content = response.content
    if not content.lstrip().startswith(b"{"):
        return content, None
    try:
        errcode = response.json().get("errcode")
    except (ValueError, AttributeError):
        errcode = None
    return None, errcode if isinstance(errcode, int) and errcode else None
