// Recorded from the SDK's flow against a development server (clients/miniprogram/ci.sh) by
// test/fixtures-recorder.ts: do not edit. To record again: UPDATE_FIXTURES=1 bash ci.sh
import type { ClientOperationId } from "./operations.js";

export interface Fixture {
  status: number;
  body: unknown;
  header?: Record<string, string>;
}

export interface Fixtures {
  api_version: string;
  operations: Partial<Record<ClientOperationId, Fixture>>;
}

export const fixtures: Fixtures = {
  "api_version": "1.2.0",
  "operations": {
    "authLogin": {
      "status": 201,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "access": "eyJtb2NrIjoidG9rZW4ifQ.mock1.signature",
          "refresh": "eyJtb2NrIjoidG9rZW4ifQ.mock2.signature",
          "user": {
            "id": "u_0000000000000001",
            "nickname": "outsider",
            "avatar_url": "",
            "avatar": null,
            "created_at": "2026-12-01T10:00:05+08:00",
            "show_on_public_lists": false,
            "privacy_version": "sdk-ci-1",
            "privacy_consent_required": false
          },
          "created": true
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "authLogout": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": null
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "authRefresh": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "access": "eyJtb2NrIjoidG9rZW4ifQ.mock3.signature",
          "refresh": "eyJtb2NrIjoidG9rZW4ifQ.mock4.signature"
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "configGet": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "server_time": "2026-12-01T10:00:00+08:00",
          "api_version": "1.2.0",
          "subscribe_templates": {
            "result": "tmpl-result",
            "cancel": "tmpl-cancel",
            "shipped": "tmpl-shipped"
          },
          "limits": {
            "title_length": {
              "min": 1,
              "max": 100
            },
            "description_max_length": 2000,
            "prizes": {
              "min": 1,
              "max": 20
            },
            "prize_name_length": {
              "min": 1,
              "max": 50
            },
            "prize_quantity": {
              "min": 1,
              "max": 10000
            },
            "total_quantity_max": 100000,
            "target_participants": {
              "min": 1,
              "max": 10000000
            },
            "cancel_reason_max_length": 200,
            "min_draw_lead_seconds": 300,
            "lock_lead_seconds": 60,
            "max_horizon_seconds": 2592000,
            "nickname_length": {
              "min": 1,
              "max": 64
            }
          },
          "conditions": {
            "kinds": [
              "password",
              "group",
              "new_users",
              "question",
              "risk"
            ],
            "password_max_length": 32,
            "new_users": {
              "rules": [
                "after_event",
                "within_days"
              ],
              "days": {
                "min": 1,
                "max": 365
              }
            },
            "question": {
              "text_length": {
                "min": 1,
                "max": 200
              },
              "choices": {
                "min": 2,
                "max": 6
              },
              "choice_length": {
                "min": 1,
                "max": 50
              }
            },
            "risk": {
              "threshold": {
                "min": 1,
                "max": 4
              },
              "when_unavailable": [
                "admit",
                "refuse"
              ],
              "scene": "marketing"
            },
            "attempts": {
              "limit": 5,
              "window_seconds": 600
            },
            "forbidden": [
              {
                "code": 40050,
                "name": "rule_follow_forbidden",
                "fields": [
                  "require_follow",
                  "follow",
                  "follow_account",
                  "follow_official_account",
                  "official_account"
                ]
              },
              {
                "code": 40051,
                "name": "rule_share_forbidden",
                "fields": [
                  "extra_chances_for_share",
                  "extra_chances_for_invite",
                  "share_for_chances",
                  "invite_for_chances",
                  "require_share",
                  "require_invite",
                  "share",
                  "invite"
                ]
              },
              {
                "code": 40052,
                "name": "rule_paid_entry_forbidden",
                "fields": [
                  "entry_fee",
                  "fee",
                  "price",
                  "paid_entry",
                  "pay_to_enter"
                ]
              },
              {
                "code": 40053,
                "name": "rule_fake_count_forbidden",
                "fields": [
                  "display_count",
                  "base_count",
                  "fake_count",
                  "virtual_participants",
                  "initial_participants"
                ]
              }
            ]
          },
          "privacy_policy": {
            "version": "sdk-ci-1",
            "url": "https://lottery.example.com/privacy"
          }
        }
      },
      "header": {
        "Content-Type": "application/json",
        "ETag": "\"etag-1\""
      }
    },
    "eventCancel": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "id": "e_0000000000000001",
          "title": "要取消的活动",
          "description": "",
          "draw_mode": "time",
          "target_participants": null,
          "delivery": "none",
          "claim_days": 7,
          "creator": {
            "id": "u_0000000000000002",
            "nickname": "创建者",
            "avatar_url": "",
            "avatar": {
              "url": "https://api.example.com/media/avatar/2026/12/picture-1.jpg",
              "width": 256,
              "height": 256
            }
          },
          "cover": null,
          "visibility": "unlisted",
          "prizes": [
            {
              "id": "p_0000000000000001",
              "name": "京东卡",
              "quantity": 2,
              "image": null
            }
          ],
          "conditions": [],
          "commitment": "0000000000000000000000000000000000000000000000000000000000000001",
          "fairness": {
            "algorithm": "sha256-fisher-yates-v3",
            "beacon": false,
            "beacon_chain": null,
            "note": "本活动创建时未配置公共随机信标，开奖不使用信标：结果只由创建时承诺的种子和参与名单决定。"
          },
          "created_at": "2026-12-01T10:00:11+08:00",
          "status": "canceled",
          "phase": "canceled",
          "joinable": false,
          "draw_at": "2026-12-01T11:00:01+08:00",
          "lock_at": "2026-12-01T11:00:00+08:00",
          "participant_count": 0,
          "cancel_reason": "奖品缺货",
          "beacon_wait": null,
          "my_entry": {
            "joined": false,
            "joined_at": null,
            "prize": null,
            "claim": null
          }
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventClaimCreate": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "id": "c_0000000000000001",
          "delivery": "shipping",
          "state": "claimed",
          "deadline": "2026-12-08T10:00:00+08:00",
          "contact_note": "",
          "code": "",
          "carrier": "",
          "tracking_number": "",
          "shipped_at": null
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventClaimRetrieve": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "id": "c_0000000000000001",
          "delivery": "shipping",
          "state": "shipped",
          "deadline": "2026-12-08T10:00:00+08:00",
          "contact_note": "",
          "code": "",
          "carrier": "顺丰",
          "tracking_number": "SF0000000000",
          "shipped_at": "2026-12-01T10:00:15+08:00"
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventClaimRowList": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "results": [],
          "next": null
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventClaimShip": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "id": "c_0000000000000001",
          "delivery": "shipping",
          "state": "shipped",
          "deadline": "2026-12-08T10:00:00+08:00",
          "contact_note": "",
          "code": "",
          "carrier": "顺丰",
          "tracking_number": "SF0000000000",
          "shipped_at": "2026-12-01T10:00:15+08:00"
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventClaimUpdate": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "id": "c_0000000000000001",
          "delivery": "shipping",
          "state": "claimed",
          "deadline": "2026-12-08T10:00:00+08:00",
          "contact_note": "",
          "code": "",
          "carrier": "",
          "tracking_number": "",
          "shipped_at": null
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventClaimsCsv": {
      "status": 200,
      "body": "user,prize,state,deadline,name,phone,province,city,county,detail,postal_code,code,carrier,tracking_number,claimed_at,shipped_at\r\ne*t,iPad Air,claimed,2026-12-08T10:00:00+08:00,张三,13800000000,广东省,广州市,天河区,体育西路 2 号,510000,,,,2026-12-01T10:00:14+08:00,\r\n",
      "header": {
        "Content-Type": "text/csv; charset=utf-8"
      }
    },
    "eventClaimsList": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": [
          {
            "id": "c_0000000000000001",
            "user": {
              "id": "u_0000000000000003",
              "nickname": "e*t",
              "avatar_url": "",
              "avatar": null
            },
            "prize": {
              "id": "p_0000000000000002",
              "name": "iPad Air"
            },
            "state": "claimed",
            "deadline": "2026-12-08T10:00:00+08:00",
            "address": {
              "name": "张三",
              "phone": "13800000000",
              "province": "广东省",
              "city": "广州市",
              "county": "天河区",
              "detail": "体育西路 2 号",
              "postal_code": "510000"
            },
            "code": "",
            "carrier": "",
            "tracking_number": "",
            "claimed_at": "2026-12-01T10:00:14+08:00",
            "shipped_at": null,
            "erased": false
          }
        ]
      },
      "header": {
        "Content-Type": "application/json",
        "Deprecation": "@1796601600",
        "Sunset": "Wed, 30 Jun 2027 00:00:00 GMT",
        "Link": "</api/v1/events/e_0000000000000002/claim-rows>; rel=\"successor-version\", </api/docs/>; rel=\"deprecation\""
      }
    },
    "eventClaimsXlsx": {
      "status": 200,
      "body": null,
      "header": {
        "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
      }
    },
    "eventCreate": {
      "status": 201,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "id": "e_0000000000000003",
          "title": "年会现场",
          "description": "",
          "draw_mode": "manual",
          "target_participants": null,
          "delivery": "none",
          "claim_days": 7,
          "creator": {
            "id": "u_0000000000000002",
            "nickname": "创建者",
            "avatar_url": "",
            "avatar": {
              "url": "https://api.example.com/media/avatar/2026/12/picture-1.jpg",
              "width": 256,
              "height": 256
            }
          },
          "cover": null,
          "visibility": "unlisted",
          "prizes": [
            {
              "id": "p_0000000000000003",
              "name": "一等奖",
              "quantity": 1,
              "image": null
            }
          ],
          "conditions": [],
          "commitment": "0000000000000000000000000000000000000000000000000000000000000002",
          "fairness": {
            "algorithm": "sha256-fisher-yates-v3",
            "beacon": false,
            "beacon_chain": null,
            "note": "本活动创建时未配置公共随机信标，开奖不使用信标：结果只由创建时承诺的种子和参与名单决定。"
          },
          "created_at": "2026-12-01T10:00:21+08:00",
          "status": "init",
          "phase": "init",
          "joinable": true,
          "draw_at": "2026-12-01T11:00:01+08:00",
          "lock_at": "2026-12-01T11:00:00+08:00",
          "participant_count": 0,
          "cancel_reason": "",
          "beacon_wait": null,
          "my_entry": {
            "joined": false,
            "joined_at": null,
            "prize": null,
            "claim": null
          }
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventDraw": {
      "status": 202,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "algorithm": "sha256-fisher-yates-v3",
          "event_id": "e_0000000000000004",
          "status": "opened",
          "commitment": "0000000000000000000000000000000000000000000000000000000000000003",
          "entrant_count": 1,
          "entrants_digest": "0000000000000000000000000000000000000000000000000000000000000004",
          "seed": "0000000000000000000000000000000000000000000000000000000000000005",
          "prizes": [
            {
              "id": "p_0000000000000004",
              "name": "京东卡",
              "quantity": 1,
              "image": null
            }
          ],
          "prizes_digest": "0000000000000000000000000000000000000000000000000000000000000006",
          "beacon_round": null,
          "beacon_chain": null,
          "beacon": null,
          "beacon_missing_reason": "no beacon was configured when the event was created",
          "committed_at": "2026-12-01T10:00:16+08:00",
          "lock_at": "2026-12-01T10:00:17+08:00",
          "locked_at": "2026-12-01T10:00:17+08:00",
          "draw_at": "2026-12-01T11:00:01+08:00",
          "drawn_at": "2026-12-01T10:00:18+08:00",
          "max_substitutions": 3,
          "substitutions": [],
          "without_beacon": true,
          "reveal_gap_seconds": 0,
          "claim_days": null,
          "cancel_reason": null,
          "cancel_requested_at": null,
          "canceled_at": null,
          "would_be_winners": null,
          "conditions": [],
          "conditions_digest": null,
          "conditions_record": null,
          "exclusions": [],
          "entrants_url": "/api/v1/events/e_0000000000000004/entrants",
          "winners_url": "/api/v1/events/e_0000000000000004/winners"
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventEntrants": {
      "status": 200,
      "body": "u_0000000000000003\n",
      "header": {
        "Content-Type": "text/plain; charset=utf-8"
      }
    },
    "eventEntrantsMeGet": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "key": "u_0000000000000003",
          "included": true,
          "position": 0,
          "entrant_count": 1,
          "entrants_digest": "0000000000000000000000000000000000000000000000000000000000000007",
          "locked_at": "2026-12-01T10:00:12+08:00"
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventEntryList": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "results": [
            {
              "user": {
                "id": "u_0000000000000003",
                "nickname": "e*t",
                "avatar_url": "",
                "avatar": null
              },
              "joined_at": "2026-12-01T10:00:07+08:00"
            }
          ],
          "next": null
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventExclude": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "entrant": "u_0000000000000001",
          "reason": "fake_account",
          "flags": [
            "new_account"
          ],
          "excluded_at": "2026-12-01T10:00:10+08:00"
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventFlags": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "flagged": [],
          "excluded": [
            {
              "reason": "fake_account",
              "count": 1
            }
          ]
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventGet": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "id": "e_0000000000000002",
          "title": "SDK 抽奖（改）",
          "description": "",
          "draw_mode": "manual",
          "target_participants": null,
          "delivery": "shipping",
          "claim_days": 7,
          "creator": {
            "id": "u_0000000000000002",
            "nickname": "创建者",
            "avatar_url": "",
            "avatar": {
              "url": "https://api.example.com/media/avatar/2026/12/picture-1.jpg",
              "width": 256,
              "height": 256
            }
          },
          "cover": {
            "url": "https://api.example.com/media/cover/2026/12/picture-2.jpg",
            "width": 320,
            "height": 240
          },
          "visibility": "public",
          "prizes": [
            {
              "id": "p_0000000000000002",
              "name": "iPad Air",
              "quantity": 1,
              "image": {
                "url": "https://api.example.com/media/prize/2026/12/picture-3.jpg",
                "width": 320,
                "height": 240
              }
            }
          ],
          "conditions": [],
          "commitment": "0000000000000000000000000000000000000000000000000000000000000008",
          "fairness": {
            "algorithm": "sha256-fisher-yates-v3",
            "beacon": false,
            "beacon_chain": null,
            "note": "本活动创建时未配置公共随机信标，开奖不使用信标：结果只由创建时承诺的种子和参与名单决定。"
          },
          "created_at": "2026-12-01T10:00:06+08:00",
          "status": "opened",
          "phase": "opened",
          "joinable": false,
          "draw_at": "2026-12-01T11:00:01+08:00",
          "lock_at": "2026-12-01T10:00:12+08:00",
          "participant_count": 1,
          "cancel_reason": "",
          "beacon_wait": null,
          "my_entry": {
            "joined": true,
            "joined_at": "2026-12-01T10:00:07+08:00",
            "prize": {
              "id": "p_0000000000000002",
              "name": "iPad Air"
            },
            "claim": {
              "state": "shipped",
              "deadline": "2026-12-08T10:00:00+08:00"
            }
          }
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventJoin": {
      "status": 201,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "event_id": "e_0000000000000003",
          "joined": true,
          "joined_at": "2026-12-01T10:00:23+08:00"
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventProof": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "algorithm": "sha256-fisher-yates-v3",
          "event_id": "e_0000000000000002",
          "status": "opened",
          "commitment": "0000000000000000000000000000000000000000000000000000000000000008",
          "entrant_count": 1,
          "entrants_digest": "0000000000000000000000000000000000000000000000000000000000000007",
          "seed": "0000000000000000000000000000000000000000000000000000000000000009",
          "prizes": [
            {
              "id": "p_0000000000000002",
              "name": "iPad Air",
              "quantity": 1,
              "image": {
                "url": "/media/prize/2026/12/picture-3.jpg",
                "width": 320,
                "height": 240
              }
            }
          ],
          "prizes_digest": "000000000000000000000000000000000000000000000000000000000000000a",
          "beacon_round": null,
          "beacon_chain": null,
          "beacon": null,
          "beacon_missing_reason": "no beacon was configured when the event was created",
          "committed_at": "2026-12-01T10:00:06+08:00",
          "lock_at": "2026-12-01T10:00:12+08:00",
          "locked_at": "2026-12-01T10:00:12+08:00",
          "draw_at": "2026-12-01T11:00:01+08:00",
          "drawn_at": "2026-12-01T10:00:13+08:00",
          "max_substitutions": 3,
          "substitutions": [],
          "without_beacon": true,
          "reveal_gap_seconds": 0,
          "claim_days": 7,
          "cancel_reason": null,
          "cancel_requested_at": null,
          "canceled_at": null,
          "would_be_winners": null,
          "conditions": [],
          "conditions_digest": null,
          "conditions_record": null,
          "exclusions": [],
          "entrants_url": "/api/v1/events/e_0000000000000002/entrants",
          "winners_url": "/api/v1/events/e_0000000000000002/winners"
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventReport": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "event_id": "e_0000000000000002",
          "reason": "spam",
          "reported_at": "2026-12-01T10:00:08+08:00"
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventShareGet": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "title": "SDK 抽奖（改）",
          "path": "pages/event/detail?id=e_0000000000000002",
          "image": {
            "url": "https://api.example.com/media/share_code/2026/12/picture-4.png",
            "width": 430,
            "height": 430
          }
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventUpdate": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "id": "e_0000000000000005",
          "title": "群抽奖",
          "description": "",
          "draw_mode": "time",
          "target_participants": null,
          "delivery": "none",
          "claim_days": 7,
          "creator": {
            "id": "u_0000000000000002",
            "nickname": "创建者",
            "avatar_url": "",
            "avatar": {
              "url": "https://api.example.com/media/avatar/2026/12/picture-1.jpg",
              "width": 256,
              "height": 256
            }
          },
          "cover": null,
          "visibility": "unlisted",
          "prizes": [
            {
              "id": "p_0000000000000005",
              "name": "红包",
              "quantity": 1,
              "image": null
            }
          ],
          "conditions": [
            {
              "kind": "password"
            },
            {
              "kind": "group"
            },
            {
              "kind": "new_users",
              "rule": "within_days",
              "days": 7
            },
            {
              "kind": "question",
              "text": "本店的招牌菜是？",
              "choices": [
                "宫保鸡丁",
                "麻婆豆腐"
              ]
            },
            {
              "kind": "risk",
              "threshold": 3,
              "when_unavailable": "admit",
              "scene": "marketing"
            }
          ],
          "commitment": "000000000000000000000000000000000000000000000000000000000000000b",
          "fairness": {
            "algorithm": "sha256-fisher-yates-v3",
            "beacon": false,
            "beacon_chain": null,
            "note": "本活动创建时未配置公共随机信标，开奖不使用信标：结果只由创建时承诺的种子和参与名单决定。"
          },
          "created_at": "2026-12-01T10:00:09+08:00",
          "status": "init",
          "phase": "init",
          "joinable": true,
          "draw_at": "2026-12-01T11:00:01+08:00",
          "lock_at": "2026-12-01T11:00:00+08:00",
          "participant_count": 0,
          "cancel_reason": "",
          "beacon_wait": null,
          "my_entry": {
            "joined": false,
            "joined_at": null,
            "prize": null,
            "claim": null
          }
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventWinnerDisqualify": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "unit": 0,
          "prize": {
            "id": "p_0000000000000004",
            "name": "京东卡"
          },
          "replaced": "u_0000000000000001",
          "reason": "fake_account",
          "at": "2026-12-01T10:00:19+08:00",
          "step": null,
          "replacement": null,
          "pending": false,
          "beacon_round": null,
          "beacon": null,
          "drawn_at": null,
          "position": null,
          "replaced_deadline": null,
          "deadline": null
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventWinners": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "winners": [
            {
              "user": {
                "id": "u_0000000000000003",
                "nickname": "e*t",
                "avatar_url": "",
                "avatar": null
              },
              "prize": {
                "id": "p_0000000000000002",
                "name": "iPad Air"
              }
            }
          ],
          "unawarded": []
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "eventWithdraw": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "event_id": "e_0000000000000002",
          "joined": false,
          "joined_at": null
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "liveEnd": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "seq": 8,
          "event": {
            "id": "e_0000000000000003",
            "title": "年会现场"
          },
          "phase": "ended",
          "count": 1,
          "entrants_digest": "0000000000000000000000000000000000000000000000000000000000000004",
          "wall": [],
          "rounds": [
            {
              "round": 1,
              "status": "drawn",
              "prizes": [
                {
                  "id": "p_0000000000000003",
                  "name": "一等奖",
                  "quantity": 1
                }
              ],
              "commitment": "000000000000000000000000000000000000000000000000000000000000000c",
              "entrant_count": 1,
              "entrants_digest": "0000000000000000000000000000000000000000000000000000000000000004",
              "round_digest": "000000000000000000000000000000000000000000000000000000000000000d",
              "previous_result": "0000000000000000000000000000000000000000000000000000000000000004",
              "beacon_round": null,
              "locked_at": "2026-12-01T10:00:29+08:00",
              "reveal_at": "2026-12-01T10:00:29+08:00",
              "winners": [
                {
                  "name": "o***r",
                  "avatar": "",
                  "id": "u_0000000000000001",
                  "prize": {
                    "id": "p_0000000000000003",
                    "name": "一等奖"
                  }
                }
              ],
              "unawarded": [],
              "seed": "000000000000000000000000000000000000000000000000000000000000000e",
              "beacon": null,
              "result_digest": "000000000000000000000000000000000000000000000000000000000000000f",
              "drawn_at": "2026-12-01T10:00:30+08:00"
            }
          ]
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "liveGet": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "seq": 8,
          "event": {
            "id": "e_0000000000000003",
            "title": "年会现场"
          },
          "phase": "ended",
          "count": 1,
          "entrants_digest": "0000000000000000000000000000000000000000000000000000000000000004",
          "wall": [],
          "rounds": [
            {
              "round": 1,
              "status": "drawn",
              "prizes": [
                {
                  "id": "p_0000000000000003",
                  "name": "一等奖",
                  "quantity": 1
                }
              ],
              "commitment": "000000000000000000000000000000000000000000000000000000000000000c",
              "entrant_count": 1,
              "entrants_digest": "0000000000000000000000000000000000000000000000000000000000000004",
              "round_digest": "000000000000000000000000000000000000000000000000000000000000000d",
              "previous_result": "0000000000000000000000000000000000000000000000000000000000000004",
              "beacon_round": null,
              "locked_at": "2026-12-01T10:00:29+08:00",
              "reveal_at": "2026-12-01T10:00:29+08:00",
              "winners": [
                {
                  "name": "o***r",
                  "avatar": "",
                  "id": "u_0000000000000001",
                  "prize": {
                    "id": "p_0000000000000003",
                    "name": "一等奖"
                  }
                }
              ],
              "unawarded": [],
              "seed": "000000000000000000000000000000000000000000000000000000000000000e",
              "beacon": null,
              "result_digest": "000000000000000000000000000000000000000000000000000000000000000f",
              "drawn_at": "2026-12-01T10:00:30+08:00"
            }
          ]
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "liveLock": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "seq": 3,
          "event": {
            "id": "e_0000000000000003",
            "title": "年会现场"
          },
          "phase": "locked",
          "count": 1,
          "entrants_digest": "0000000000000000000000000000000000000000000000000000000000000004",
          "wall": [],
          "rounds": [
            {
              "round": 1,
              "status": "planned",
              "prizes": [
                {
                  "id": "p_0000000000000003",
                  "name": "一等奖",
                  "quantity": 1
                }
              ],
              "commitment": "000000000000000000000000000000000000000000000000000000000000000c",
              "entrant_count": null,
              "beacon_round": null,
              "locked_at": null,
              "reveal_at": null,
              "beacon": null,
              "drawn_at": null
            }
          ]
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "liveMessages": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "messages": [
            {
              "seq": 1,
              "type": "started",
              "at": "2026-12-01T10:00:22+08:00",
              "data": {
                "rounds": 1
              }
            },
            {
              "seq": 2,
              "type": "screen_revoked",
              "at": "2026-12-01T10:00:25+08:00",
              "data": {
                "screen": "s_0000000000000001"
              }
            },
            {
              "seq": 3,
              "type": "locked",
              "at": "2026-12-01T10:00:26+08:00",
              "data": {
                "count": 1,
                "entrants_digest": "0000000000000000000000000000000000000000000000000000000000000004",
                "locked_at": "2026-12-01T10:00:26+08:00"
              }
            },
            {
              "seq": 4,
              "type": "paused",
              "at": "2026-12-01T10:00:27+08:00",
              "data": {}
            },
            {
              "seq": 5,
              "type": "resumed",
              "at": "2026-12-01T10:00:28+08:00",
              "data": {}
            },
            {
              "seq": 6,
              "type": "round_locked",
              "at": "2026-12-01T10:00:29+08:00",
              "data": {
                "round": 1,
                "prizes": [
                  {
                    "id": "p_0000000000000003",
                    "name": "一等奖",
                    "quantity": 1
                  }
                ],
                "commitment": "000000000000000000000000000000000000000000000000000000000000000c",
                "entrant_count": 1,
                "entrants_digest": "0000000000000000000000000000000000000000000000000000000000000004",
                "round_digest": "000000000000000000000000000000000000000000000000000000000000000d",
                "previous_result": "0000000000000000000000000000000000000000000000000000000000000004",
                "beacon_round": null,
                "locked_at": "2026-12-01T10:00:29+08:00",
                "reveal_at": "2026-12-01T10:00:29+08:00"
              }
            },
            {
              "seq": 7,
              "type": "round_drawn",
              "at": "2026-12-01T10:00:30+08:00",
              "data": {
                "round": 1,
                "prizes": [
                  {
                    "id": "p_0000000000000003",
                    "name": "一等奖",
                    "quantity": 1
                  }
                ],
                "winners": [
                  {
                    "name": "o***r",
                    "avatar": "",
                    "id": "u_0000000000000001",
                    "prize": {
                      "id": "p_0000000000000003",
                      "name": "一等奖"
                    }
                  }
                ],
                "unawarded": [],
                "seed": "000000000000000000000000000000000000000000000000000000000000000e",
                "beacon": null,
                "result_digest": "000000000000000000000000000000000000000000000000000000000000000f",
                "drawn_at": "2026-12-01T10:00:30+08:00"
              }
            }
          ],
          "seq": 7
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "liveNextRound": {
      "status": 202,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "seq": 7,
          "event": {
            "id": "e_0000000000000003",
            "title": "年会现场"
          },
          "phase": "locked",
          "count": 1,
          "entrants_digest": "0000000000000000000000000000000000000000000000000000000000000004",
          "wall": [],
          "rounds": [
            {
              "round": 1,
              "status": "drawn",
              "prizes": [
                {
                  "id": "p_0000000000000003",
                  "name": "一等奖",
                  "quantity": 1
                }
              ],
              "commitment": "000000000000000000000000000000000000000000000000000000000000000c",
              "entrant_count": 1,
              "entrants_digest": "0000000000000000000000000000000000000000000000000000000000000004",
              "round_digest": "000000000000000000000000000000000000000000000000000000000000000d",
              "previous_result": "0000000000000000000000000000000000000000000000000000000000000004",
              "beacon_round": null,
              "locked_at": "2026-12-01T10:00:29+08:00",
              "reveal_at": "2026-12-01T10:00:29+08:00",
              "winners": [
                {
                  "name": "o***r",
                  "avatar": "",
                  "id": "u_0000000000000001",
                  "prize": {
                    "id": "p_0000000000000003",
                    "name": "一等奖"
                  }
                }
              ],
              "unawarded": [],
              "seed": "000000000000000000000000000000000000000000000000000000000000000e",
              "beacon": null,
              "result_digest": "000000000000000000000000000000000000000000000000000000000000000f",
              "drawn_at": "2026-12-01T10:00:30+08:00"
            }
          ]
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "livePause": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "seq": 4,
          "event": {
            "id": "e_0000000000000003",
            "title": "年会现场"
          },
          "phase": "paused",
          "count": 1,
          "entrants_digest": "0000000000000000000000000000000000000000000000000000000000000004",
          "wall": [],
          "rounds": [
            {
              "round": 1,
              "status": "planned",
              "prizes": [
                {
                  "id": "p_0000000000000003",
                  "name": "一等奖",
                  "quantity": 1
                }
              ],
              "commitment": "000000000000000000000000000000000000000000000000000000000000000c",
              "entrant_count": null,
              "beacon_round": null,
              "locked_at": null,
              "reveal_at": null,
              "beacon": null,
              "drawn_at": null
            }
          ]
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "liveProof": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "algorithm": "live-round-v1",
          "event_id": "e_0000000000000003",
          "entrant_count": 1,
          "entrants_digest": "0000000000000000000000000000000000000000000000000000000000000004",
          "rounds": [
            {
              "round": 1,
              "status": "drawn",
              "commitment": "000000000000000000000000000000000000000000000000000000000000000c",
              "prizes": [
                {
                  "id": "p_0000000000000003",
                  "name": "一等奖",
                  "quantity": 1
                }
              ],
              "prizes_digest": "0000000000000000000000000000000000000000000000000000000000000010",
              "previous_result": "0000000000000000000000000000000000000000000000000000000000000004",
              "round_digest": "000000000000000000000000000000000000000000000000000000000000000d",
              "entrant_count": 1,
              "entrants_digest": "0000000000000000000000000000000000000000000000000000000000000004",
              "locked_at": "2026-12-01T10:00:29+08:00",
              "reveal_gap_seconds": 0,
              "beacon_chain": null,
              "beacon_round": null,
              "without_beacon": true,
              "beacon": null,
              "seed": "000000000000000000000000000000000000000000000000000000000000000e",
              "drawn_at": "2026-12-01T10:00:30+08:00",
              "winners": [
                {
                  "user": {
                    "id": "u_0000000000000001"
                  },
                  "prize": {
                    "id": "p_0000000000000003"
                  }
                }
              ],
              "unawarded": [],
              "result_digest": "000000000000000000000000000000000000000000000000000000000000000f"
            }
          ]
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "liveResume": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "seq": 5,
          "event": {
            "id": "e_0000000000000003",
            "title": "年会现场"
          },
          "phase": "locked",
          "count": 1,
          "entrants_digest": "0000000000000000000000000000000000000000000000000000000000000004",
          "wall": [],
          "rounds": [
            {
              "round": 1,
              "status": "planned",
              "prizes": [
                {
                  "id": "p_0000000000000003",
                  "name": "一等奖",
                  "quantity": 1
                }
              ],
              "commitment": "000000000000000000000000000000000000000000000000000000000000000c",
              "entrant_count": null,
              "beacon_round": null,
              "locked_at": null,
              "reveal_at": null,
              "beacon": null,
              "drawn_at": null
            }
          ]
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "liveScreenCreate": {
      "status": 201,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "id": "s_0000000000000001",
          "created_at": "2026-12-01T10:00:24+08:00",
          "revoked_at": null,
          "url": "https://api.example.com/live/screen/screen-token-1/"
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "liveScreenList": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": [
          {
            "id": "s_0000000000000001",
            "created_at": "2026-12-01T10:00:24+08:00",
            "revoked_at": null
          }
        ]
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "liveScreenRevoke": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "id": "s_0000000000000001",
          "created_at": "2026-12-01T10:00:24+08:00",
          "revoked_at": "2026-12-01T10:00:25+08:00"
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "liveStart": {
      "status": 201,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "seq": 1,
          "event": {
            "id": "e_0000000000000003",
            "title": "年会现场"
          },
          "phase": "open",
          "count": 0,
          "entrants_digest": null,
          "wall": [],
          "rounds": [
            {
              "round": 1,
              "status": "planned",
              "prizes": [
                {
                  "id": "p_0000000000000003",
                  "name": "一等奖",
                  "quantity": 1
                }
              ],
              "commitment": "000000000000000000000000000000000000000000000000000000000000000c",
              "entrant_count": null,
              "beacon_round": null,
              "locked_at": null,
              "reveal_at": null,
              "beacon": null,
              "drawn_at": null
            }
          ]
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "meDataGet": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "profile": {
            "id": "u_0000000000000004",
            "nickname": "leaving",
            "avatar_url": "",
            "avatar": null,
            "created_at": "2026-12-01T10:00:01+08:00",
            "privacy_version": "sdk-ci-1",
            "show_on_public_lists": false,
            "wechat_openid": "openid-1",
            "wechat_unionid": null
          },
          "consents": [
            {
              "version": "sdk-ci-1",
              "source": "prompt",
              "accepted_at": "2026-12-01T10:00:02+08:00"
            }
          ],
          "uploads": [],
          "account_log": [],
          "entries": [],
          "wins": [],
          "claims": [],
          "events_created": [],
          "reports": [],
          "exclusions": [],
          "inbox": [],
          "subscriptions": {
            "tmpl-cancel": 0,
            "tmpl-result": 0,
            "tmpl-shipped": 0
          },
          "messages": [],
          "live_screen_links": []
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "meDelete": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "deleted_at": "2026-12-01T10:00:20+08:00"
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "meEventList": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "results": [
            {
              "id": "e_0000000000000002",
              "title": "SDK 抽奖（改）",
              "description": "",
              "draw_mode": "manual",
              "target_participants": null,
              "delivery": "shipping",
              "claim_days": 7,
              "creator": {
                "id": "u_0000000000000002",
                "nickname": "创建者",
                "avatar_url": "",
                "avatar": {
                  "url": "https://api.example.com/media/avatar/2026/12/picture-1.jpg",
                  "width": 256,
                  "height": 256
                }
              },
              "cover": {
                "url": "https://api.example.com/media/cover/2026/12/picture-2.jpg",
                "width": 320,
                "height": 240
              },
              "visibility": "public",
              "prizes": [
                {
                  "id": "p_0000000000000002",
                  "name": "iPad Air",
                  "quantity": 1,
                  "image": {
                    "url": "https://api.example.com/media/prize/2026/12/picture-3.jpg",
                    "width": 320,
                    "height": 240
                  }
                }
              ],
              "conditions": [],
              "commitment": "0000000000000000000000000000000000000000000000000000000000000008",
              "fairness": {
                "algorithm": "sha256-fisher-yates-v3",
                "beacon": false,
                "beacon_chain": null,
                "note": "本活动创建时未配置公共随机信标，开奖不使用信标：结果只由创建时承诺的种子和参与名单决定。"
              },
              "created_at": "2026-12-01T10:00:06+08:00",
              "status": "opened",
              "phase": "opened",
              "joinable": false,
              "draw_at": "2026-12-01T11:00:01+08:00",
              "lock_at": "2026-12-01T10:00:12+08:00",
              "participant_count": 1,
              "cancel_reason": "",
              "beacon_wait": null,
              "my_entry": {
                "joined": true,
                "joined_at": "2026-12-01T10:00:07+08:00",
                "prize": {
                  "id": "p_0000000000000002",
                  "name": "iPad Air"
                },
                "claim": {
                  "state": "unclaimed",
                  "deadline": "2026-12-08T10:00:00+08:00"
                }
              }
            }
          ],
          "next": null
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "meGet": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "id": "u_0000000000000003",
          "nickname": "entrant",
          "avatar_url": "",
          "avatar": null,
          "created_at": "2026-12-01T10:00:04+08:00",
          "show_on_public_lists": false,
          "privacy_version": "sdk-ci-1",
          "privacy_consent_required": false
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "mePrivacyConsent": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "id": "u_0000000000000004",
          "nickname": "leaving",
          "avatar_url": "",
          "avatar": null,
          "created_at": "2026-12-01T10:00:01+08:00",
          "show_on_public_lists": false,
          "privacy_version": "sdk-ci-1",
          "privacy_consent_required": false
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "meUpdate": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "id": "u_0000000000000002",
          "nickname": "创建者",
          "avatar_url": "",
          "avatar": {
            "url": "https://api.example.com/media/avatar/2026/12/picture-1.jpg",
            "width": 256,
            "height": 256
          },
          "created_at": "2026-12-01T10:00:03+08:00",
          "show_on_public_lists": false,
          "privacy_version": "sdk-ci-1",
          "privacy_consent_required": false
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "notificationList": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "results": [
            {
              "id": "shipped-e_0000000000000002",
              "kind": "shipped",
              "event": {
                "id": "e_0000000000000002",
                "title": "SDK 抽奖（改）"
              },
              "won": null,
              "prize": {
                "id": "p_0000000000000002",
                "name": "iPad Air"
              },
              "reason": "",
              "entrants": null,
              "winners": null,
              "unawarded": null,
              "carrier": "顺丰",
              "tracking_number": "SF0000000000",
              "deadline": "2026-12-08T10:00:00+08:00",
              "created_at": "2026-12-01T10:00:15+08:00",
              "read": true
            },
            {
              "id": "result-e_0000000000000002",
              "kind": "result",
              "event": {
                "id": "e_0000000000000002",
                "title": "SDK 抽奖（改）"
              },
              "won": true,
              "prize": {
                "id": "p_0000000000000002",
                "name": "iPad Air"
              },
              "reason": "",
              "entrants": null,
              "winners": null,
              "unawarded": null,
              "carrier": "",
              "tracking_number": "",
              "deadline": null,
              "created_at": "2026-12-01T10:00:13+08:00",
              "read": true
            }
          ],
          "next": null,
          "unread_count": 0
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "notificationMarkRead": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "unread_count": 0
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "squareList": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "results": [
            {
              "id": "e_0000000000000002",
              "title": "SDK 抽奖（改）",
              "cover": {
                "url": "https://api.example.com/media/cover/2026/12/picture-2.jpg",
                "width": 320,
                "height": 240
              },
              "creator": {
                "id": "u_0000000000000002",
                "nickname": "创建者",
                "avatar_url": "",
                "avatar": {
                  "url": "https://api.example.com/media/avatar/2026/12/picture-1.jpg",
                  "width": 256,
                  "height": 256
                }
              },
              "prizes": [
                {
                  "id": "p_0000000000000002",
                  "name": "iPad Air",
                  "quantity": 1,
                  "image": {
                    "url": "https://api.example.com/media/prize/2026/12/picture-3.jpg",
                    "width": 320,
                    "height": 240
                  }
                }
              ],
              "draw_mode": "manual",
              "target_participants": null,
              "draw_at": "2026-12-01T11:00:01+08:00",
              "lock_at": "2026-12-01T11:00:00+08:00",
              "created_at": "2026-12-01T10:00:06+08:00",
              "participant_count": 0,
              "recent_joins": 0
            }
          ],
          "next": null
        }
      },
      "header": {
        "Content-Type": "application/json",
        "ETag": "\"etag-2\""
      }
    },
    "subscriptionAccept": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "quota": {
            "tmpl-cancel": 1,
            "tmpl-result": 1,
            "tmpl-shipped": 1
          }
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "subscriptionGet": {
      "status": 200,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "quota": {
            "tmpl-cancel": 1,
            "tmpl-result": 1,
            "tmpl-shipped": 1
          }
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    },
    "uploadCreate": {
      "status": 201,
      "body": {
        "code": 0,
        "msg": "ok",
        "data": {
          "id": "img_0000000000000005",
          "url": "https://api.example.com/media/avatar/2026/12/picture-5.jpg",
          "width": 256,
          "height": 256
        }
      },
      "header": {
        "Content-Type": "application/json"
      }
    }
  }
};
