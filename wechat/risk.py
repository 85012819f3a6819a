"""WeChat's risk rank of a user: ``getUserRiskRank`` (安全风控, 获取用户安全等级).

``POST /wxa/getuserriskrank?access_token=...`` with ``{appid, openid, scene, client_ip}``
answers ``{errcode, errmsg, risk_rank, unoin_id}`` (sic): ``risk_rank`` 0 to 4, the higher the
riskier, judged for the scene. Scene 1 is "营销作弊" (marketing cheating: farming giveaways and
promotions), the one a lottery asks about; 0 is registration. No user consent is needed, no
phone number or e-mail is sent (WeChat takes them as optional hints; we do not hold them).

The access token is the shared stable token of ``wechat.access_token``, asked for and renewed
as for the content checks (``post_with_token``). Nothing here runs inside a database
transaction.
"""

import logging

from django.conf import settings

from lottery_site.errors import ApplicationError
from wechat.access_token import post_with_token

logger = logging.getLogger(__name__)

SCENE_REGISTRATION = 0
SCENE_MARKETING = 1  # 营销作弊
RANKS = range(5)  # 0..4
PATH = "/wxa/getuserriskrank"


def user_risk_rank(*, openid: str, client_ip: str, scene: int = SCENE_MARKETING) -> int:
    """WeChat's risk rank (0-4) of the user ``openid`` seen from ``client_ip``, for ``scene``.

    Raises ``wechat_unavailable`` (no answer, busy, rate-limited) or ``wechat_bad_gateway``
    (an errcode we do not know, a rank outside 0-4).
    """
    body = {
        "appid": settings.WECHAT_APP_ID,
        "openid": openid,
        "scene": scene,
        "client_ip": client_ip,
    }
    payload = post_with_token(PATH, body)
    rank = payload.get("risk_rank")
    if type(rank) is not int or rank not in RANKS:
        logger.warning("getuserriskrank answered a rank outside 0-4")
        raise ApplicationError("wechat_bad_gateway")
    return rank
