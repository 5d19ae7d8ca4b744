"""The demo's register of information systems (情報システム台帳, DESIGN.md §12): sixty
systems across the demo's 所属, the mix a prefecture has — mostly on the premises, some
LGWAN-ASP services, some national systems, and cloud services with their ISMAP
registration: one expired, one expiring within 90 days of the FY2026 round, one with
no ISMAP data at all, one no longer in use. The names are the kind of system each 所属
runs; vendors and cloud services are invented.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Mapping

VENDORS = {
    "hokuto": "株式会社北杜情報システム",
    "tohoku": "東北行政システム株式会社",
    "minato": "株式会社みなと計算センター",
    "kenou": "株式会社県央ソフトウェア",
    "aoba": "株式会社あおば企画",
    "horei": "法令出版データ株式会社",
    "saiyo": "株式会社キャリア受付サービス",
    "kyodo": "地方行政共同利用センター株式会社",
    "gov": "株式会社ガバメントクラウドサービス",
    "meeting": "株式会社ミーティングネット",
    "national": "国（所管省庁）",
    "komachi": "株式会社ウェブ工房こまち",
    "medical": "株式会社メディカル情報",
    "kodomo": "株式会社こども支援システムズ",
    "kankyo": "株式会社環境計測エンジニアリング",
    "agri": "株式会社アグリクラウド",
    "chizu": "株式会社地図情報サービス",
    "kensetsu": "株式会社建設情報センター",
    "bosai": "株式会社防災テレメータ",
}

# (所属, name, vendor, hosting, cloud service, ismap, ismap expiry, criticality,
#  first year of use, last year of use)
SYSTEMS = (
    ("0101", "文書管理システム", "hokuto", "onprem", None, "na", None, "high", 2014, None),
    ("0101", "例規集データベース", "horei", "lgwan_asp", None, "na", None, "low", 2016, None),
    ("0102", "人事給与システム", "tohoku", "onprem", None, "na", None, "high", 2012, None),
    ("0102", "庶務事務システム", "tohoku", "onprem", None, "na", None, "medium", 2015, None),
    ("0102", "職員採用試験申込システム", "saiyo", "cloud", "採用試験受付クラウド", "yes",
     "2027-06-30", "medium", 2021, None),
    ("0103", "財務会計システム", "minato", "onprem", None, "na", None, "high", 2013, None),
    ("0103", "予算編成システム", "minato", "onprem", None, "na", None, "medium", 2013, None),
    ("0104", "税務総合システム", "minato", "onprem", None, "na", None, "high", 2010, None),
    ("0104", "自動車税納税管理システム", "minato", "onprem", None, "na", None, "high", 2011,
     None),
    ("0104", "地方税電子申告受付連携システム", "kyodo", "lgwan_asp", None, "na", None, "high",
     2017, None),
    ("0105", "統合認証基盤", "hokuto", "onprem", None, "na", None, "high", 2019, None),
    ("0105", "庁内ネットワーク運用管理システム", "hokuto", "onprem", None, "na", None, "high",
     2018, None),
    ("0105", "電子申請・届出システム", "gov", "cloud", "行政手続オンライン申請サービス", "yes",
     "2028-03-31", "high", 2020, None),
    ("0105", "ウェブ会議サービス", "meeting", "cloud", "ビジネス会議クラウド", "yes",
     "2027-01-31", "medium", 2020, None),
    ("0106", "私立学校補助金管理システム", "kenou", "onprem", None, "na", None, "low", 2016,
     None),
    ("0107", "市町村財政状況集計システム", "minato", "onprem", None, "na", None, "low", 2015,
     None),
    ("0201", "県政世論調査集計システム", "aoba", "cloud", "アンケート集計クラウド", None, None,
     "low", 2022, None),
    ("0203", "地域公共交通情報システム", "aoba", "other", None, "na", None, "low", 2019, None),
    ("0204", "旅券発給管理システム", "national", "other", None, "na", None, "high", 2006, None),
    ("0205", "統計調査集計システム", "kenou", "onprem", None, "na", None, "medium", 2012, None),
    ("0205", "統計データ公開サイト", "komachi", "cloud", "オープンデータ公開クラウド", "yes",
     "2028-09-30", "low", 2021, None),
    ("0206", "観光情報ウェブサイト", "komachi", "cloud", "CMSクラウドサービスB", "yes",
     "2026-09-30", "low", 2019, None),
    ("0206", "観光統計システム", "kenou", "onprem", None, "na", None, "low", 2016, 2023),
    ("0301", "生活保護システム", "tohoku", "onprem", None, "na", None, "high", 2011, None),
    ("0301", "福祉医療費助成システム", "kyodo", "lgwan_asp", None, "na", None, "medium", 2018,
     None),
    ("0302", "医療機能情報提供システム", "medical", "cloud", "医療情報公開クラウド", "yes",
     "2027-12-31", "medium", 2020, None),
    ("0302", "薬事許可台帳システム", "kenou", "onprem", None, "na", None, "medium", 2014, None),
    ("0303", "健康診査データ管理システム", "medical", "lgwan_asp", None, "na", None, "medium",
     2017, None),
    ("0304", "介護保険事業者指定管理システム", "tohoku", "lgwan_asp", None, "na", None,
     "medium", 2016, None),
    ("0305", "障害者手帳交付管理システム", "tohoku", "onprem", None, "na", None, "high", 2013,
     None),
    ("0306", "児童相談支援システム", "kodomo", "onprem", None, "na", None, "high", 2015, None),
    ("0306", "子育て支援情報サイト", "komachi", "cloud", "CMSクラウドサービスB", "yes",
     "2027-09-30", "low", 2022, None),
    ("0307", "感染症発生動向調査システム", "national", "other", None, "na", None, "high", 2008,
     None),
    ("0307", "予防接種記録管理システム", "medical", "lgwan_asp", None, "na", None, "medium",
     2021, None),
    ("0401", "消費生活相談システム", "national", "other", None, "na", None, "medium", 2010,
     None),
    ("0402", "大気汚染常時監視システム", "kankyo", "onprem", None, "na", None, "high", 2009,
     None),
    ("0402", "水質測定データ管理システム", "kankyo", "onprem", None, "na", None, "medium", 2012,
     None),
    ("0404", "狩猟免許・鳥獣保護管理システム", "kenou", "onprem", None, "na", None, "low", 2014,
     None),
    ("0405", "産業廃棄物管理システム", "kankyo", "onprem", None, "na", None, "medium", 2011,
     None),
    ("0405", "電子マニフェスト連携システム", "kyodo", "lgwan_asp", None, "na", None, "low",
     2019, None),
    ("0501", "農林水産統計システム", "kenou", "onprem", None, "na", None, "low", 2013, None),
    ("0502", "農業経営体支援管理システム", "agri", "cloud", "農業経営支援クラウド", "no", None,
     "low", 2023, None),
    ("0504", "家畜防疫情報システム", "national", "other", None, "na", None, "high", 2011, None),
    ("0505", "森林GIS", "chizu", "onprem", None, "na", None, "medium", 2010, None),
    ("0505", "林地開発許可管理システム", "chizu", "onprem", None, "na", None, "low", 2016, None),
    ("0506", "漁業許可管理システム", "kenou", "onprem", None, "na", None, "medium", 2012, None),
    ("0507", "農地整備事業管理システム", "chizu", "onprem", None, "na", None, "low", 2015, None),
    ("0601", "電子入札システム", "kyodo", "lgwan_asp", None, "na", None, "high", 2009, None),
    ("0601", "工事成績評定システム", "kensetsu", "onprem", None, "na", None, "medium", 2012,
     None),
    ("0602", "積算システム", "kensetsu", "onprem", None, "na", None, "high", 2008, None),
    ("0603", "道路台帳管理システム", "chizu", "onprem", None, "na", None, "medium", 2011, None),
    ("0603", "道路情報提供システム", "bosai", "cloud", "道路情報配信クラウド", "yes",
     "2028-06-30", "high", 2020, None),
    ("0604", "河川砂防情報システム", "bosai", "onprem", None, "na", None, "high", 2007, None),
    ("0604", "雨量・水位観測システム", "bosai", "onprem", None, "na", None, "high", 2007, None),
    ("0605", "都市計画GIS", "chizu", "cloud", "自治体GISクラウド", "yes", "2027-03-31", "low",
     2022, None),
    ("0606", "建築確認台帳システム", "kensetsu", "onprem", None, "na", None, "medium", 2012,
     None),
    ("0606", "建設業許可管理システム", "kyodo", "lgwan_asp", None, "na", None, "medium", 2014,
     None),
    ("0607", "港湾施設管理システム", "chizu", "onprem", None, "na", None, "low", 2013, None),
    ("0608", "下水道台帳管理システム", "chizu", "onprem", None, "na", None, "medium", 2010, None),
    ("0608", "下水道施設監視システム", "kankyo", "onprem", None, "na", None, "high", 2015, None),
)


def system_rows(units: Container[str]) -> Iterator[dict]:
    """The register as rows of the systems table (store/systems.py FIELDS), the systems of
    the 所属 in `units` only (the bench scripts' synthetic prefectures have other 所属)."""
    for number, entry in enumerate(SYSTEMS, start=1):
        owner, name, vendor, hosting, cloud, ismap, expires, criticality, first, last = entry
        if owner not in units:
            continue
        yield {"code": f"SYS-{number:04d}", "name": name, "owner_code": owner,
               "vendor": VENDORS[vendor], "hosting": hosting, "cloud_service": cloud,
               "ismap": ismap, "ismap_expires": expires, "criticality": criticality,
               "valid_from": first, "valid_to": last}


def screening(system: Mapping, procured: bool) -> dict[str, str]:
    """A block's screening answers (SSCR) as its register entry says: hosted as
    registered, outsourced unless the nation runs it, `procured` in the last three
    years or not."""
    return {"SCLD-00": system["hosting"] or "onprem",
            "SPRC-00": "yes" if procured else "no",
            "SCTR-00": "no" if system["vendor"] == VENDORS["national"] else "yes"}
